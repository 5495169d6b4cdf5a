import EventLoop
import TLS
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// TLSStream without sockets: a client and a server stream, each over a MemoryByteStream, the
/// records pumped between them by hand — whole, a byte at a time, or in random splits — on a
/// loop driven by hand.
@Suite struct TLSStreamTests {
    /// How the pump cuts what one side wrote before the other side receives it.
    enum Split: CustomTestStringConvertible, Sendable {
        case whole, bytes, random(seed: UInt64)

        var testDescription: String {
            switch self {
            case .whole: "whole"
            case .bytes: "one byte at a time"
            case .random(let seed): "random splits, seed \(seed)"
            }
        }
    }

    @Test(arguments: [Split.whole, .bytes, .random(seed: 1), .random(seed: 2_718_281)])
    func handshakeAndDataInAnySplit(split: Split) throws {
        let pair = try TLSPair(split: split)
        pair.pump()
        #expect(pair.clientHandshake.isSuccess)
        #expect(pair.serverHandshake.isSuccess)

        // More than one record each way (16 KiB each), and both ways at once.
        var random = SeededRandom(seed: 42)
        let request = random.bytes(100_000), response = random.bytes(40_000)
        request.withUnsafeBytes { pair.client.write($0) }
        response.withUnsafeBytes { pair.server.write($0) }
        pair.pump()
        #expect(pair.serverApp.received == request)
        #expect(pair.clientApp.received == response)
        #expect(!pair.client.isClosed && !pair.server.isClosed)
    }

    /// What the protocol writes before the handshake ends (HTTP/2's preface) waits and
    /// leaves after it, in order.
    @Test func writesBeforeTheHandshakeLeaveAfterIt() throws {
        let pair = try TLSPair(split: .whole, start: false)
        Array("PRI * HTTP/2.0".utf8).withUnsafeBytes { pair.client.write($0) }
        Array("SETTINGS".utf8).withUnsafeBytes { pair.server.write($0) }
        pair.start()
        pair.pump()
        #expect(pair.serverApp.received == Array("PRI * HTTP/2.0".utf8))
        #expect(pair.clientApp.received == Array("SETTINGS".utf8))
    }

    @Test func aNameTheCertificateDoesNotCarryFailsTheHandshake() throws {
        let pair = try TLSPair(split: .whole, serverName: "wrong.example")
        pair.pump()
        #expect(pair.clientHandshake?.failure?.description.contains("hostname mismatch") == true, "\(String(describing: pair.clientHandshake))")
        #expect(pair.client.isClosed && pair.clientApp.closed)
        #expect(pair.serverHandshake?.isSuccess != true)
    }

    /// close_notify ends the peer's input (its protocol hears EOF) and nothing else: the
    /// other direction still carries data.
    @Test func closeNotifyIsAnEOFOneWay() throws {
        let pair = try TLSPair(split: .whole)
        pair.pump()
        pair.client.shutdownOutput()
        pair.pump()
        #expect(pair.serverApp.readEOF)
        #expect(!pair.server.isClosed)
        Array("answer".utf8).withUnsafeBytes { pair.server.write($0) }
        pair.pump()
        #expect(pair.clientApp.received == Array("answer".utf8))
    }

    /// Random bytes are not a ClientHello: the server refuses them and closes, whatever they are.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func garbageIsRefusedNotCrashedOn(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let pair = try TLSPair(split: .random(seed: seed))
        var garbage = random.bytes(Int.random(in: 1...4_000, using: &random))
        if seed.isMultiple(of: 2) { garbage[0] = 0x16 }  // a handshake record type, so parsing goes further
        garbage.withUnsafeBytes { pair.serverWire.receive($0) }
        pair.loop.runUntilIdle()
        if !pair.server.isClosed {
            // Too short to judge yet: the peer then gives up.
            pair.serverWire.receiveEOF()
        }
        #expect(pair.server.isClosed)
        #expect(pair.serverHandshake?.failure?.kind == .handshake)
        #expect(pair.serverApp.closed)
    }

    @Test func aStalledHandshakeTimesOut() throws {
        let pair = try TLSPair(split: .whole, serverTimeoutNanoseconds: 20_000_000, start: false)
        pair.server.start()  // the client never sends its ClientHello
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while !pair.server.isClosed && monotonicNanoseconds() < deadline {
            usleep(1_000)  // the loop fires its timers when driven; time has to pass first
            pair.loop.runUntilIdle()
        }
        #expect(pair.server.isClosed)
        #expect(pair.serverHandshake?.failure?.description.contains("did not finish") == true)
    }
}

/// A client and a server TLSStream over memory, with what their protocols received.
final class TLSPair {
    let loop: EventLoop
    let clientWire: MemoryByteStream, serverWire: MemoryByteStream
    let client: TLSStream, server: TLSStream
    let clientApp = Recorder(), serverApp = Recorder()
    var clientHandshake: Result<Void, TLSError>?
    var serverHandshake: Result<Void, TLSError>?
    private var random: SeededRandom
    private let split: TLSStreamTests.Split

    init(
        split: TLSStreamTests.Split, serverName: String = "localhost", serverTimeoutNanoseconds: UInt64 = 10_000_000_000, start: Bool = true
    ) throws {
        self.split = split
        if case .random(let seed) = split { random = SeededRandom(seed: seed) } else { random = SeededRandom(seed: 0) }
        loop = try EventLoop()
        loop.runUntilIdle()  // this thread becomes the loop's
        let serverContext = try TLSContext.server(certificateChainFile: try TestPKI.pem("server-chain"), privateKeyFile: try TestPKI.key("server"))
        let clientContext = try TLSContext.client(caFile: try TestPKI.pem("root"))
        clientWire = MemoryByteStream(loop: loop)
        serverWire = MemoryByteStream(loop: loop)
        server = try TLSStream.server(over: serverWire, context: serverContext, handshakeTimeoutNanoseconds: serverTimeoutNanoseconds)
        client = try TLSStream.client(over: clientWire, context: clientContext, serverName: serverName, handshakeTimeoutNanoseconds: 10_000_000_000)
        serverWire.handler = server
        clientWire.handler = client
        server.handler = serverApp
        client.handler = clientApp
        server.onHandshake = { [unowned self] in self.serverHandshake = $0 }
        client.onHandshake = { [unowned self] in self.clientHandshake = $0 }
        if start { self.start() }
    }

    func start() {
        server.start()
        client.start()
    }

    /// Runs the loop and moves each side's output to the other until nothing moves.
    func pump() {
        while true {
            loop.runUntilIdle()
            let toServer = clientWire.written, toClient = serverWire.written
            clientWire.written = []
            serverWire.written = []
            if toServer.isEmpty && toClient.isEmpty { return }
            deliver(toServer, to: serverWire)
            deliver(toClient, to: clientWire)
        }
    }

    private func deliver(_ bytes: [UInt8], to wire: MemoryByteStream) {
        var offset = 0
        while offset < bytes.count {
            let count = switch split {
            case .whole: bytes.count
            case .bytes: 1
            case .random: Int.random(in: 1...max(1, min(bytes.count - offset, 3_000)), using: &random)
            }
            bytes[offset..<offset + count].withUnsafeBytes { wire.receive($0) }
            offset += count
        }
    }
}

/// A protocol that records what reached it.
final class Recorder: ConnectionHandler {
    var received: [UInt8] = []
    var readEOF = false
    var closed = false

    func connection(_ connection: any ByteStream, received bytes: UnsafeRawBufferPointer) { received.append(contentsOf: bytes) }
    func connectionReadEOF(_ connection: any ByteStream) { readEOF = true }
    func connectionWillFlush(_ connection: any ByteStream) {}
    func connectionClosed(_ connection: any ByteStream) { closed = true }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}

extension Optional where Wrapped == Result<Void, TLSError> {
    var isSuccess: Bool { self?.isSuccess ?? false }
}
