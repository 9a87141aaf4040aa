from vsm.cli import run

run()
