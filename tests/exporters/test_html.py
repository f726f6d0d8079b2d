from html.parser import HTMLParser

import exporters

from tests.exporters.conftest import SAMPLE

XSS = """# <script>alert('title')</script>

<script>alert(1)</script>

<img src=x onerror=alert(2)> and <a href="javascript:alert(3)">raw link</a>

[js](javascript:alert(4)) [vb](vbscript:msgbox(5)) [data](data:text/html;base64,PHNjcmlwdD4=) <javascript:alert(6)>

![pixel](https://tracker.example.com/p.gif) [ok](https://example.com) [mail](mailto:a@example.com)

| a | b |
|---|---|
| <iframe src=x> | [x](JAVASCRIPT:alert(7)) |
"""


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_raw_html_and_unsafe_links_are_inert(meta):
    html = exporters.to_html(exporters.parse(XSS), meta)
    tags = tags_of(html)
    names = {tag for tag, _ in tags}
    assert not names & {"script", "img", "iframe"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    links = [attrs["href"] for tag, attrs in tags if tag == "a"]
    assert links == ["https://tracker.example.com/p.gif", "https://example.com", "mailto:a@example.com"]
    assert all(not key.startswith("on") for _, attrs in tags for key in attrs)
    for tag, attrs in tags:
        if tag == "a":
            assert attrs["rel"] == "noopener noreferrer nofollow"


def test_standalone_file_has_title_metadata_and_a_policy(meta, sample):
    html = exporters.to_html(sample, meta)
    assert "<title>Retrospective: DB failover</title>" in html
    assert '<meta name="author" content="Ann Author">' in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    tags = [tag for tag, _ in tags_of(html)]
    assert tags.count("table") == 2 and "th" in tags and "pre" in tags and "blockquote" in tags


def test_title_is_escaped_in_head(meta):
    evil = exporters.DocumentMeta(title="</title><script>x</script>")
    html = exporters.to_html(exporters.parse("text"), evil)
    assert "<script>" not in html
    assert "&lt;/title&gt;&lt;script&gt;" in html


def test_fragment_matches_a_plain_render_apart_from_link_hardening(sample):
    from exporters.common import PARSER

    fragment = exporters.to_html_fragment(sample)
    assert fragment.replace(' rel="noopener noreferrer nofollow"', "") == PARSER.render(SAMPLE)
