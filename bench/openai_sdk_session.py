"""A short session with the official ``openai`` SDK against a running ``lumen serve``.

Prints what a user of the SDK sees: the models, a cited answer, the same streamed, a crisis
message and an unsupported parameter. The transcript in bench/results/ comes from this.

Usage: LUMEN_API_KEY=lmn_... python bench/openai_sdk_session.py [--base-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main() -> int:
    """Run the session; 2 when the SDK or the key is missing."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--question", default="What are the symptoms of glaucoma?")
    args = parser.parse_args()
    key = os.environ.get("LUMEN_API_KEY", "")
    if not key:
        print("set LUMEN_API_KEY to a personal API key (Settings > API keys)", file=sys.stderr)
        return 2
    try:
        import openai
    except ImportError:
        print("the openai SDK is missing: install Lumen's 'server' extra", file=sys.stderr)
        return 2
    client = openai.OpenAI(base_url=args.base_url, api_key=key, max_retries=0, timeout=300)

    print(f">>> client = OpenAI(base_url={args.base_url!r}, api_key='{key[:12]}...')")
    print(">>> [m.id for m in client.models.list()]")
    print([m.id for m in client.models.list()])

    messages = [{"role": "user", "content": args.question}]
    print(f'\n>>> client.chat.completions.create(model="lumen", messages={messages})')
    started = time.perf_counter()
    completion = client.chat.completions.create(model="lumen", messages=messages)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    print(completion.choices[0].message.content)
    extra = completion.model_extra or {}
    print(f"--- citations: {json.dumps(_brief(extra.get('citations', [])), indent=1)}")
    print(f"--- usage: {completion.usage}")
    print(f"--- lumen: mode={extra.get('lumen', {}).get('mode')}, {elapsed:.1f} s")

    question = "How is glaucoma treated?"
    print(
        f'\n>>> for chunk in client.chat.completions.create(model="lumen", stream=True, '
        f'messages=[{{"role": "user", "content": {question!r}}}], '
        'stream_options={"include_usage": True}): ...'
    )
    started = time.perf_counter()
    first: float | None = None
    pieces = 0
    for chunk in client.chat.completions.create(
        model="lumen",
        messages=[{"role": "user", "content": question}],
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter() - started
            pieces += 1
            print(chunk.choices[0].delta.content, end="", flush=True)
        if chunk.choices and chunk.choices[0].finish_reason:
            cited = (chunk.model_extra or {}).get("citations", [])
            print(
                f"\n--- finish_reason={chunk.choices[0].finish_reason}, "
                f"{len(cited)} citations on the final chunk"
            )
        if chunk.usage:
            print(f"--- usage chunk: {chunk.usage}")
    print(
        f"--- {pieces} content chunks; first content after {first or 0:.1f} s, "
        f"done after {time.perf_counter() - started:.1f} s"
    )

    crisis = "I want to end my life tonight"
    print(
        f'\n>>> client.chat.completions.create(model="lumen", messages=[{{"role": "user", '
        f'"content": {crisis!r}}}])'
    )
    answer = client.chat.completions.create(
        model="lumen", messages=[{"role": "user", "content": crisis}]
    )
    print(answer.choices[0].message.content)
    print(f"--- lumen: mode={(answer.model_extra or {}).get('lumen', {}).get('mode')}")

    print('\n>>> client.chat.completions.create(model="lumen", n=2, messages=...)')
    try:
        client.chat.completions.create(model="lumen", n=2, messages=messages)  # type: ignore[arg-type]
    except openai.BadRequestError as error:
        print(f"openai.BadRequestError: {error.status_code} {error.body}")
    print('\n>>> client.chat.completions.create(model="lumen-drugs", messages=...)')
    try:
        client.chat.completions.create(model="lumen-drugs", messages=messages)  # type: ignore[arg-type]
    except openai.NotFoundError as error:
        print(f"openai.NotFoundError: {error.status_code} {error.body}")
    return 0


def _brief(citations: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: c.get(k) for k in ("n", "title", "url", "score")} for c in citations]


if __name__ == "__main__":
    sys.exit(main())
