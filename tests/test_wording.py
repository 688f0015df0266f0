"""Every tracked file speaks to a reader of this repository: no word of the
project's internal planning (numbered internal discussions, the internal
tracker's issue numbers, who did what) and no path outside the repository.
A public discussion is cited by its project and number, e.g. "ChainRules.jl
issue #664"."""

import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
THIS = pathlib.Path(__file__).resolve().relative_to(ROOT).as_posix()

# what is wrong -> pattern (case-insensitive). The patterns and the examples
# below are spelled so that a plain grep of the repository for these words
# finds nothing here either ("the\s+lead", "spec[/]", split strings).
FORBIDDEN = {
    "an issue number of the internal tracker (cite a public one as 'project issue #N')":
        r"\bissues?\s+\d+",
    "a person's role in the project": r"\bthe\s+lead\b",
    "a path outside the repository": r"\.\.[/](?:shared|spec)\b|\bshared[/](?:spec|reference|seeds)\b",
    "a design document the repository does not have": r"\bspec[/]|\bMATH\.md\b",
    "a planning note the repository does not have": r"\bclosing notes?\b",
}

# 'seed' is fine as a random seed; anything else (a numbered one, one with a
# matrix) names an internal discussion. Removed before looking for 'seed':
RANDOM_SEED = re.compile(
    r"""\w+seed\w*                     # inside a longer name: _seed_words
      | self\.seed\b | ["']seed["']     # a model parameter
      | seed(?:ed\b|\s*[=)\],:+%])     # an argument, a variable, 'seeded'
      | seeds\s*[=\[]
      | seeds?\s+in\s+range
      | (?:fixed|random)\s+seeds?
      | seed\s+it\s+with
      | seed\s+of\b | seed\s*$        # a parameter's docstring, the last of a signature""",
    re.IGNORECASE | re.VERBOSE)
SEED = re.compile(r"(?<![a-z])seeds?(?![a-z])", re.IGNORECASE)   # also where a name starts with it


def tracked_text_files():
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for name in names:
        path = ROOT / name
        if name == THIS or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue                                    # binary (images)
        yield name, data.decode("utf-8", errors="replace")


def hits(text):
    """(line number, what is wrong, the line) for each internal word in text."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        for why, pattern in FORBIDDEN.items():
            if re.search(pattern, line, re.IGNORECASE):
                out.append((n, why, line.strip()))
        if SEED.search(RANDOM_SEED.sub(" ", line)):
            out.append((n, "an internal discussion ('seed'); cite the public thread", line.strip()))
    return out


@pytest.mark.parametrize("line", [
    "Notebook 02 (seed " "000): closing a gap",
    "the seed" "'s 3x3 complex matrix",
    "a notebook per discussion (the seed" "s)",
    "M = widgets.phase.seed" "_matrix()",
    "is the " "lead's `_core.svfun_apply`",
    "This protocol reproduces issue " "6's figures",
    "Each function is the formula of ../" "spec" "/MATH.md",
    "the survey in `../" "shared/reference/rules-survey.md`",
])
def test_internal_words_are_found(line):
    assert hits(line), line


@pytest.mark.parametrize("line", [
    "A = testing.random_matrix((4, 3), seed=0)",
    "rng = np.random.default_rng(self.seed + 1)",
    'params = {"gap": 1e-3, "seed": 0}',
    "def _seed_words(*key):",
    "seeds = rng.integers(0, 2**63 - 1, size=3)",
    "for seed in range(3):",
    "A seeded random stack of matrices",
    "their spectrum with a fixed seed",
    "(ChainRules.jl issue #664) and the leading k",
])
def test_random_seeds_and_public_citations_are_fine(line):
    assert not hits(line), line


def test_no_tracked_file_uses_internal_words():
    found = [f"{name}:{n}: {why}: {line[:120]}"
             for name, text in tracked_text_files() for n, why, line in hits(text)]
    assert not found, "internal words in tracked files:\n" + "\n".join(found)
