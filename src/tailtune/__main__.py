from tailtune.cli import main

main()
