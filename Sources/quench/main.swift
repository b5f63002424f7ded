Quench.main()
