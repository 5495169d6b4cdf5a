/// The authenticated user a call runs as.
package struct Caller: Sendable, Hashable {
    package var userID: String
    package var name: String
    /// The token may claim segmentation jobs.
    package var isWorker: Bool

    package init(userID: String, name: String, isWorker: Bool = false) {
        self.userID = userID
        self.name = name
        self.isWorker = isWorker
    }
}
