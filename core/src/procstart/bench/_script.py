"""The ``__main__`` of every measuring process: a minimal user script.

Real programs run a script, and every library then re-imports that script
in its children (as ``__mp_main__``) or in its fork server: started as
``python -m procstart``, the stdlib would skip that step altogether and the
comparison would not be the one users see. ``procstart bench`` therefore
runs itself as ``python .../procstart/bench/_script.py bench ...``, and
fresh-interpreter samples as ``python .../_script.py worker SPEC``. At the
top level this file imports only ``sys``, like a small script would.
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        from procstart.bench._worker import main as worker

        worker()
    else:
        from procstart.cli import main

        sys.exit(main(sys.argv[1:]))
