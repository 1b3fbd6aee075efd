from atalaia.cli.main import main

main()
