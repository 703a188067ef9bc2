import KctrCommands

await KctrMain.main()
