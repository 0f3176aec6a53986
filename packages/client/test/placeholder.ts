// placeholder until this package has tests
export {}
