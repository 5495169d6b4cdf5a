package import CellHub

/// A domain error that may carry an internal fault (what the log needs and the client must
/// not see). Every area's error enum conforms below.
package protocol InternalFaultCarrying {
    var internalFault: InternalFault? { get }
}

extension AuthError: InternalFaultCarrying {
    package var internalFault: InternalFault? {
        if case .internal(let fault) = self { fault } else { nil }
    }
}

extension ProjectError: InternalFaultCarrying {
    package var internalFault: InternalFault? {
        if case .internal(let fault) = self { fault } else { nil }
    }
}

extension ImageError: InternalFaultCarrying {
    package var internalFault: InternalFault? {
        if case .internal(let fault) = self { fault } else { nil }
    }
}

extension SegmentationError: InternalFaultCarrying {
    package var internalFault: InternalFault? {
        if case .internal(let fault) = self { fault } else { nil }
    }
}

extension StatsError: InternalFaultCarrying {
    package var internalFault: InternalFault? {
        if case .internal(let fault) = self { fault } else { nil }
    }
}
