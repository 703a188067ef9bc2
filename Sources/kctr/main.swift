import KctrCommands
await Kctr.main()
