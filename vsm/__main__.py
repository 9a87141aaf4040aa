from vsm.cli import main

main()
