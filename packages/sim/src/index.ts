/**
 * @dave/sim: a deterministic simulator of Dave networks. Real DaveNodes run on an in-memory
 * Transport under one virtual clock and one seeded random source, so a run is a pure function of
 * its seed and scenario; scenarios check the network's properties at scale.
 */
export * as EventLoop from "./EventLoop.ts"
export * as EventQueue from "./EventQueue.ts"
export * as LinkModel from "./LinkModel.ts"
export * as Prng from "./Prng.ts"
export * as Runner from "./Runner.ts"
export * as Scenario from "./Scenario.ts"
export * as Scenarios from "./Scenarios.ts"
export * as SimBackup from "./SimBackup.ts"
export * as SimCrypto from "./SimCrypto.ts"
export * as SimNetwork from "./SimNetwork.ts"
export * as SimNode from "./SimNode.ts"
export * as SimParams from "./SimParams.ts"
export * as Simulation from "./Simulation.ts"
export * as Steps from "./Steps.ts"
export * as TraceHash from "./TraceHash.ts"
export * as VirtualClock from "./VirtualClock.ts"
export * as World from "./World.ts"
