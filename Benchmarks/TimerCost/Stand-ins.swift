// Stand-ins for the identifier types TimerQueue.swift uses, so that the
// engine's own TimerQueue.swift compiles alone with `swiftc -O` (see
// timer-cost.sh). The engine's identifiers are 16-byte UUID wrappers; these are too.
import Foundation

public struct EntityID: Hashable, Sendable { let uuid = UUID() }
public typealias ThreadID = EntityID
public typealias TaskID = EntityID
public typealias ContactID = EntityID
