"""The vsm command line (see :mod:`vsm.cli`)."""
