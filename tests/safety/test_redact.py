"""Redaction of patient data, the logging filter and the labelled set."""

from __future__ import annotations

import logging

import pytest

from lumen.safety.redact import RedactingFilter, Redactor, add_redacting_filter
from lumen_lab.safety.evaluate import load_redaction_set, redaction_metrics


@pytest.mark.parametrize(
    ("text", "placeholder", "secret"),
    [
        ("Email me at jane.doe@example.com please", "[EMAIL]", "jane.doe@example.com"),
        ("Call me on (415) 555-0132 tonight", "[PHONE]", "555-0132"),
        ("My mobile is +44 7700 900123", "[PHONE]", "7700 900123"),
        ("My SSN is 123-45-6789", "[SSN]", "123-45-6789"),
        ("MRN: 00482913, admitted Monday", "[MRN]", "00482913"),
        ("DOB 03/14/1985, female", "[DOB]", "03/14/1985"),
        ("I was born on July 4, 1976.", "[DOB]", "1976"),
        ("I live at 742 Evergreen Terrace, Springfield, IL 62704.", "[ADDRESS]", "Evergreen"),
        ("My name is John Smith and I have asthma", "[NAME]", "John Smith"),
        ("Patient: Maria Garcia, 54", "[NAME]", "Garcia"),
        ("Dr. Patel prescribed metformin", "[NAME]", "Patel"),
        ("My son Jake has a fever", "[NAME]", "Jake"),
        ("Member ID XQZ123456789 was denied", "[ID]", "XQZ123456789"),
        ("Card 4111 1111 1111 1111 was charged", "[CREDIT_CARD]", "4111"),
        ("Login from 192.168.10.45 failed", "[IP_ADDRESS]", "192.168.10.45"),
    ],
)
def test_each_type_is_redacted(text: str, placeholder: str, secret: str) -> None:
    out = Redactor().redact(text)
    assert placeholder in out
    assert secret not in out


@pytest.mark.parametrize(
    "text",
    [
        "What are the symptoms of Parkinson's disease?",
        "Is Addison's disease related to Cushing's syndrome?",
        "Take 500 mg every 6 hours and do not exceed 4,000 mg a day.",
        "My blood pressure was 135/85 and my pulse 72.",
        "Down syndrome is caused by an extra chromosome 21.",
        "How long does the flu last in May?",
    ],
)
def test_medical_text_is_left_alone(text: str) -> None:
    assert Redactor().redact(text) == text


def test_labelled_set_recall_and_precision() -> None:
    rows = load_redaction_set()
    assert len(rows) >= 60
    types = {span["type"] for row in rows for span in row["spans"]}
    assert {"NAME", "EMAIL", "PHONE", "ADDRESS", "DOB", "MRN", "SSN"} <= types
    metrics = redaction_metrics(Redactor(), rows)
    assert metrics["recall"] >= 0.95
    assert metrics["precision"] >= 0.9


def test_redacting_filter_on_a_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("lumen.tests.safety.redact")
    flt = RedactingFilter()
    logger.addFilter(flt)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("question from %s (%s): %s", "John Smith", "john@example.com", "help")
            try:
                raise ValueError("patient SSN 123-45-6789 not found")
            except ValueError:
                logger.exception("lookup failed for MRN 5567123")
    finally:
        logger.removeFilter(flt)
    text = caplog.text
    assert "John Smith" not in text
    assert "john@example.com" not in text
    assert "123-45-6789" not in text
    assert "5567123" not in text
    assert "[NAME]" in text
    assert "[EMAIL]" in text
    assert "[SSN]" in text
    assert "[MRN]" in text
    first = caplog.records[0]
    assert first.args is None
    assert first.getMessage() == "question from [NAME] ([EMAIL]): help"


def test_add_redacting_filter_to_handler(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("lumen.tests.safety.handler")
    add_redacting_filter(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("call me at 555-867-5309")
    finally:
        for f in list(caplog.handler.filters):
            caplog.handler.removeFilter(f)
    assert "555-867-5309" not in caplog.text
    assert "[PHONE]" in caplog.text


def test_bad_format_args_do_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("lumen.tests.safety.badargs")
    flt = RedactingFilter()
    logger.addFilter(flt)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("email %s %s", "jane@example.com")
    finally:
        logger.removeFilter(flt)
    assert "jane@example.com" not in caplog.text
