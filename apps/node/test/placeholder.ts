// placeholder until this app has tests
export {}
