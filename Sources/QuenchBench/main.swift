QuenchBench.main()
