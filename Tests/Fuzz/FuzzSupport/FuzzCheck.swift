/// `precondition` that says why in every build: an optimised build's `precondition` traps
/// without its message, and a fuzzer's finding needs it.
package func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError(message(), file: file, line: line) }
}
