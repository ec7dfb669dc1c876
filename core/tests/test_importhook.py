"""procstart.importhook: callbacks after a module's first import, without importing it."""

from __future__ import annotations

from tests.conftest import run_python


def test_callbacks_run_once_after_the_real_import_not_after_find_spec() -> None:
    result = run_python(
        """
        import importlib.util, sys
        from procstart import importhook
        assert "csv" not in sys.modules
        seen = []
        first = lambda m: seen.append(("first", m.__name__))
        importhook.after_import("csv", first)
        importhook.after_import("csv", lambda m: seen.append(("second", hasattr(m, "reader"))))
        importlib.util.find_spec("csv")          # a look, not an import
        print(seen, importhook.pending("csv"), importhook.pending("csv", first))
        import csv
        import csv                                # once only
        print(seen, importhook.pending("csv"))
        importhook.after_import("csv", lambda m: seen.append(("now", m.__name__)))
        print(seen[-1])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[] True True",
        "[('first', 'csv'), ('second', True)] False",
        "('now', 'csv')",
    ]


def test_cancel_one_callback_keeps_the_others() -> None:
    result = run_python(
        """
        import sys
        from procstart import importhook
        seen = []
        a = lambda m: seen.append("a")
        b = lambda m: seen.append("b")
        importhook.after_import("csv", a)
        importhook.after_import("csv", b)
        print(importhook.cancel("csv", a), importhook.pending("csv", a), importhook.pending("csv"))
        import csv
        print(seen)
        print(importhook.cancel("csv"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True False True", "['b']", "False"]
