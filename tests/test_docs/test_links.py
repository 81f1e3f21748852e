"""Every relative link and anchor of the README and of docs/ resolves.

A link ``[text](target)`` or image ``![alt](target)`` whose target is not a
URL must name a file or folder of the repository, relative to the page;
an anchor (``#heading``, alone or after a Markdown file) must be the
GitHub slug of one of that page's headings. Links inside code (fenced
blocks and inline code spans) are not links.
"""
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The pages checked: the README, the manual, the data description.
PAGES = [ROOT / 'README.md', ROOT / 'data' / 'README.md'] + sorted(
    (ROOT / 'docs').glob('*.md'))

FENCE = re.compile(r'^(```|~~~).*?^\1', re.M | re.S)
INLINE_CODE = re.compile(r'`[^`\n]*`')
# [text](target) and ![alt](target); the text may hold one level of [...]
LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?'
                  r'(?:\s+"[^"]*")?\s*\)')
HEADING = re.compile(r'^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$', re.M)


def without_code(text: str) -> str:
    """The page with its fenced blocks and inline code spans blanked."""
    text = FENCE.sub(lambda m: '\n' * m.group(0).count('\n'), text)
    return INLINE_CODE.sub('', text)


def github_slug(heading: str) -> str:
    """GitHub's anchor of a heading: the text as rendered (links and
    emphasis reduced to their text, code to its content), lower-cased,
    every character but letters, digits, spaces, hyphens and underscores
    dropped, spaces turned into hyphens."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)
    text = re.sub(r'[`*]|(?<!\w)_|_(?!\w)', '', text)
    text = text.strip().lower()
    kept = ''.join(
        c for c in text
        if c in ' -_' or unicodedata.category(c)[0] in 'LN')
    return kept.replace(' ', '-')


def anchors(path: Path) -> Set[str]:
    """Every heading's slug, repeated ones numbered as GitHub does
    (``name``, ``name-1``, ``name-2``...)."""
    text = FENCE.sub('', path.read_text(encoding='utf-8'))
    seen: Counter = Counter()
    slugs = set()
    for heading in HEADING.findall(text):
        slug = github_slug(heading)
        slugs.add(slug if not seen[slug] else f'{slug}-{seen[slug]}')
        seen[slug] += 1
    return slugs


def broken_links(page: Path, root: Path = ROOT) -> List[str]:
    """What is wrong with each relative link of ``page``, one line each
    (empty when every link resolves)."""
    problems = []
    cache: Dict[Path, Set[str]] = {}
    for target in LINK.findall(without_code(page.read_text(encoding='utf-8'))):
        if re.match(r'[a-z][a-z0-9+.-]*:', target, re.I):  # http:, mailto:
            continue
        location, _, anchor = target.partition('#')
        linked = (page.parent / location).resolve() if location else page
        where = f'{page.relative_to(root)}: ({target})'
        if not linked.exists():
            problems.append(f'{where}: no file {location}')
            continue
        if root not in linked.parents and linked != root:
            problems.append(f'{where}: outside the repository')
            continue
        if anchor:
            if linked.suffix != '.md':
                problems.append(f'{where}: an anchor into a file that is not '
                                'Markdown')
                continue
            if linked not in cache:
                cache[linked] = anchors(linked)
            if anchor not in cache[linked]:
                problems.append(f'{where}: no heading #{anchor} in '
                                f'{linked.relative_to(root)}')
    return problems


@pytest.mark.parametrize('page',
                         PAGES,
                         ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_resolves(page):
    assert broken_links(page) == []


def test_every_docs_page_is_listed_in_the_index():
    index = (ROOT / 'docs' / 'index.md').read_text(encoding='utf-8')
    listed = {
        target.partition('#')[0]
        for target in LINK.findall(without_code(index))
    }
    pages = {p.name for p in PAGES if p.parent.name == 'docs'}
    assert pages - {'index.md'} <= listed


def test_github_slugs():
    # each as GitHub renders it
    assert github_slug('Evaluation: per fracture, per image, per case') == \
        'evaluation-per-fracture-per-image-per-case'
    assert github_slug("FAMO's box coder") == 'famos-box-coder'
    assert github_slug('`make test`: the test suite') == \
        'make-test-the-test-suite'
    assert github_slug('Loading radiographs: `LoadRadiograph`') == \
        'loading-radiographs-loadradiograph'
    assert github_slug('Fitting 15 minutes: crops, no inversion, side by '
                       'side') == \
        'fitting-15-minutes-crops-no-inversion-side-by-side'
    assert github_slug('DICOM results: SR, GSPS & SC') == \
        'dicom-results-sr-gsps--sc'
    assert github_slug('The **bold** [linked](x.md) snake_case') == \
        'the-bold-linked-snake_case'


def test_the_checker_finds_broken_links_and_anchors(tmp_path):
    root = tmp_path / 'repo'
    (root / 'docs').mkdir(parents=True)
    (root / 'docs' / 'other.md').write_text(
        '# Other page\n\n## Usage\n\n## Usage\n\n```\n# not a heading\n```\n')
    (root / 'image.png').write_bytes(b'')
    (tmp_path / 'outside.md').write_text('# Outside\n')
    page = root / 'docs' / 'page.md'
    page.write_text('\n'.join([
        '# Page', '',
        '[fine](other.md#usage), [second](other.md#usage-1), [self](#page),',
        '![picture](../image.png), [web](https://example.org/#x),',
        '`[code](missing.md)` and', '```', '[fenced](missing.md)', '```',
        '[gone](missing.md), [bad anchor](other.md#install),',
        '[fence anchor](other.md#not-a-heading), [own](#nowhere),',
        '[into png](../image.png#top), [escape](../../outside.md)'
    ]))
    assert broken_links(page, root) == [
        'docs/page.md: (missing.md): no file missing.md',
        'docs/page.md: (other.md#install): no heading #install in '
        'docs/other.md',
        'docs/page.md: (other.md#not-a-heading): no heading #not-a-heading '
        'in docs/other.md',
        'docs/page.md: (#nowhere): no heading #nowhere in docs/page.md',
        'docs/page.md: (../image.png#top): an anchor into a file that is not '
        'Markdown',
        'docs/page.md: (../../outside.md): outside the repository',
    ]
