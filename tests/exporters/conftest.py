"""A Markdown document using every construct the exporters handle, and readers for their output."""

from __future__ import annotations

import io

import docx
import pytest

import exporters

SAMPLE = """# Retrospective: DB failover

Intro with **bold**, *italic*, `inline code`, ~~struck~~ and [a link](https://example.com/a?b=1&c=2).

## Timeline

| When | Event | Who |
|---|:-:|--:|
| 10:00 | Alert **fired** | [Ann](mailto:ann@example.com) |
| 10:05 | Pipe \\| inside | Bob |

## Action items

| Action | Owner | Status | Jira |
|---|---|---|---|
| Add alert | Ann | Done | [OPS-1](https://jira.example.com/browse/OPS-1) |
| Fix pool | Bob | In progress | |
| Write doc | Cy | Open | |

## Lists

- first **bullet**
  - nested bullet
    1. deep number
- second bullet

1. one
2. two

Then:

3. three
4. four

And:

7. seven
8. eight

### Code

```python
print("]]> is not the end")
\tindented = True
```

> A quote.

---
"""


@pytest.fixture
def meta() -> exporters.DocumentMeta:
    from datetime import datetime, timezone

    return exporters.DocumentMeta(
        title="Retrospective: DB failover", author="Ann Author", subject="SEV1 incident #7",
        keywords=("retrospective", "SEV1"), created=datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc),
        description="Exported for tests.",
    )


@pytest.fixture
def sample() -> exporters.ParsedDocument:
    return exporters.parse(SAMPLE)


def read_docx(data: bytes) -> docx.document.Document:
    """Open exported bytes with python-docx, as Word would."""
    return docx.Document(io.BytesIO(data))
