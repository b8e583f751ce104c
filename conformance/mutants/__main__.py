"""`python -m conformance.mutants`: run the mutants and print which checks caught each."""

from .runner import main

raise SystemExit(main())
