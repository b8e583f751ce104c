"""`python -m conformance.mutants`: run the mutants on each wire and print which checks caught each."""

from .runner import main

raise SystemExit(main())
