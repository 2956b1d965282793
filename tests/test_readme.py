"""The two manuals show the same commands, and the entry-point commands they show parse as written."""
import functools
import os
import re
import shlex

import pytest

from src.model_utils.config import get_config
from tests.conftest import ROOT

ENTRY_POINTS = ("train.py", "eval.py", "export.py", "predict.py")


def bash_blocks(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return re.findall(r"```bash\n(.*?)```", f.read(), flags=re.S)


def entry_point_commands():
    """(script, argv) of every `python <entry point> ...` line, placeholders given a value of their kind."""
    commands = []
    for block in bash_blocks("README.md"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\[--[^\]]*\]", "", line)  # optional flags: [--verify True]
            words = shlex.split(line.split(" > ")[0].split(" &> ")[0].rstrip("& "))
            if len(words) > 1 and words[0] == "python" and words[1] in ENTRY_POINTS:
                argv = [re.sub(r"^\[([^|\]]+)(\|[^\]]*)?\]$", r"\1", w) for w in words[2:]]
                commands.append((words[1], ["default_config.yaml" if w == "CONFIG_PATH" else w for w in argv]))
    return commands


def test_both_readmes_show_the_same_commands():
    english, chinese = bash_blocks("README.md"), bash_blocks("README_CN.md")
    assert len(english) >= 10
    assert english == chinese


@pytest.mark.parametrize("script,argv", entry_point_commands())
def test_readme_entry_point_commands_parse(script, argv):
    config = get_config(argv)
    assert config.config_path.endswith(".yaml")


def without_code_blocks(path):
    """A Markdown file without its fenced code blocks."""
    with open(path, encoding="utf-8") as f:
        return re.sub(r"```.*?```", "", f.read(), flags=re.S)


@functools.lru_cache(maxsize=None)
def heading_anchors(path):
    """GitHub's anchors for the headings of a Markdown file: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", without_code_blocks(path), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def relative_links():
    """(document, target file, anchor) of every relative link in the manuals and docs/."""
    docs = sorted(os.listdir(os.path.join(ROOT, "docs")))
    documents = ["README.md", "README_CN.md"] + [os.path.join("docs", n) for n in docs if n.endswith(".md")]
    links = []
    for document in documents:
        prose = re.sub(r"`[^`\n]*`", "", without_code_blocks(os.path.join(ROOT, document)))
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if not re.match(r"[a-z]+://", target):
                path, _, anchor = target.partition("#")
                links.append((document, path, anchor))
    return links


@pytest.mark.parametrize("document,path,anchor", relative_links())
def test_relative_links_reach_a_file_and_heading(document, path, anchor):
    target = os.path.normpath(os.path.join(ROOT, os.path.dirname(document), path or os.path.basename(document)))
    assert os.path.exists(target), f"{document}: link to missing {path}"
    if anchor:
        assert anchor in heading_anchors(target), f"{document}: no heading #{anchor} in {path or document}"
