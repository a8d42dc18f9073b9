from bakery.program import main

main()
