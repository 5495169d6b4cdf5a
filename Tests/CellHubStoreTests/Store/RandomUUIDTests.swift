import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import Testing

@Suite("Store: ids")
struct RandomUUIDTests {
    @Test("random ids are distinct lowercase version-4 UUIDs")
    func format() {
        let ids = (0..<2_000).map { _ in Store.randomUUID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let bytes = Array(id.utf8)
            #expect(bytes.count == 36, "\(id)")
            for (index, byte) in bytes.enumerated() {
                if [8, 13, 18, 23].contains(index) {
                    #expect(byte == UInt8(ascii: "-"), "\(id)")
                } else {
                    #expect((0x30...0x39).contains(byte) || (0x61...0x66).contains(byte), "\(id)")
                }
            }
            #expect(bytes[14] == UInt8(ascii: "4"), "version nibble of \(id)")
            #expect([UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(bytes[19]), "variant of \(id)")
        }
    }
}
