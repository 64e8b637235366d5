"""The entailment verifier's lab: training data, training, export and evaluation."""
