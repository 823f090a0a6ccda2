from dialup_admin.cli import main

main()
