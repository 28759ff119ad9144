"""The local runtime: moto on loopback, function hosts, event sources, a stand-in destination, the demo."""

from pathlib import Path

#: The shipped sample events the demo imports (JSON lines; a few are invalid on purpose).
SAMPLE_EVENTS = Path(__file__).with_name("sample_events.jsonl")
