"""The ``__main__`` of a measured process in the *script* form: a minimal user script.

Children re-import a user's script as ``__mp_main__`` (spawn), and fork
servers import it too (the stdlib's 3.11-3.13.7 forkserver even re-runs it
in every child): the script form measures what users' programs see, the
``-c`` form (no main file) what remains without that. At the top level this
file imports only ``sys``, like a small script.
"""

import sys

if __name__ == "__main__":
    from procstart_bench._worker import main

    main()
    sys.exit(0)
