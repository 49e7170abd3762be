"""pycheck.py - what the script-style Python tests (test_python.py, test_python_robust.py) share: the
package from this checkout on sys.path, BUILD's library for it, and a tally of checks that the script
prints last as "NAME: N passed, M failed" (the line tests/run_all.sh counts)."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))


def setup() -> tuple[str, str]:
    """Puts python/ first on sys.path and BUILD's libattndrop.so in ATTNDROP_LIB, before the package is
    imported; returns (BUILD, the attndrop tool) from the command line."""
    sys.path.insert(0, os.path.join(here, "..", "python"))
    build, tool = sys.argv[1], sys.argv[2]
    os.environ["ATTNDROP_LIB"] = os.path.join(build, "libattndrop.so")
    return build, tool


class Tally:
    """Counts checks; a failed one prints "FAIL: what" on stderr, a passed one "ok: what" when verbose."""

    def __init__(self, name: str, verbose: bool = False) -> None:
        self.name, self.verbose, self.passed, self.failed = name, verbose, 0, 0

    def check(self, cond: object, what: str) -> bool:
        if cond:
            self.passed += 1
            if self.verbose:
                print("ok:", what, file=sys.stderr)
        else:
            self.failed += 1
            print("FAIL:", what, file=sys.stderr)
        return bool(cond)

    def finish(self) -> None:
        """Prints the tally and exits, 1 if any check failed."""
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
