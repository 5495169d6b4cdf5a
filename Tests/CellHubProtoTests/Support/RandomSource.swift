import TestSupport

/// Seeded random values biased toward the edges that break codecs: zero, min and max
/// integers, empty and long strings, multi-byte unicode, large repeated fields.
struct RandomSource: RandomNumberGenerator {
    /// The shared SplitMix64 source (seed offset kept, so every seeded case stays the same).
    private var generator: SeededRandom

    init(seed: UInt64) { generator = SeededRandom(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func choice(_ count: Int) -> Int { Int.random(in: 0..<count, using: &self) }

    mutating func bool() -> Bool { next() & 1 == 1 }

    mutating func number<T: FixedWidthInteger>(_ type: T.Type) -> T {
        switch choice(6) {
        case 0: 0
        case 1: .max
        case 2: .min
        case 3: T(truncatingIfNeeded: choice(300))
        default: T(truncatingIfNeeded: next())
        }
    }

    mutating func number(_ type: Double.Type) -> Double {
        // No NaN: a NaN field makes a message unequal to itself.
        [0, -0.0, 1.5, -2.25, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, .infinity, -.infinity,
         Double(bitPattern: next() & 0x7FEF_FFFF_FFFF_FFFF)][choice(9)]
    }

    mutating func number(_ type: Float.Type) -> Float {
        [0, 1.5, -3.75, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, -.infinity,
         Float(bitPattern: UInt32(truncatingIfNeeded: next()) & 0x7F7F_FFFF)][choice(8)]
    }

    /// Proto3 strings are UTF-8 without NUL here: protobuf-c stores strings as C strings.
    mutating func string() -> String {
        let alphabets: [[Unicode.Scalar]] = [
            Array("abcXYZ019 _-./".unicodeScalars),
            Array("äöüßéñçøå".unicodeScalars),
            Array("細胞画像分割統計".unicodeScalars),
            Array("🧫🔬🦠🧬👩‍🔬".unicodeScalars),
            [Unicode.Scalar(0x01)!, Unicode.Scalar(0x7F)!, Unicode.Scalar(0xFFFD)!, Unicode.Scalar(0x10FFFF)!],
        ]
        let length = [0, 1, 2, 5, 15, 16, 40, 300][choice(8)]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let alphabet = alphabets[choice(alphabets.count)]
            scalars.append(alphabet[choice(alphabet.count)])
        }
        return String(scalars)
    }

    mutating func bytes() -> [UInt8] {
        let length = [0, 1, 3, 64, 1000][choice(5)]
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// A defined value most of the time, sometimes one this build does not know.
    mutating func enumValue(_ known: [Int32]) -> Int32 {
        choice(5) == 0 ? Int32(truncatingIfNeeded: 100 + choice(1_000_000)) : known[choice(known.count)]
    }

    /// Whether an optional sub-message is set; rarer with depth so trees stay finite.
    mutating func present(depth: Int) -> Bool { depth < 4 && choice(depth + 2) == 0 }

    mutating func array<T>(depth: Int, _ element: (inout RandomSource) -> T) -> [T] {
        let count: Int
        switch choice(10) {
        case 0...3: count = 0
        case 4...7: count = 1 + choice(3)
        case 8: count = depth < 2 ? 20 + choice(30) : 1
        default: count = depth == 0 ? 1_000 + choice(2_000) : 2
        }
        var out: [T] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(element(&self)) }
        return out
    }
}

/// Generated for every message (Tests/CellHubProtoTests/Generated).
protocol RandomMessage {
    static func random(using source: inout RandomSource, depth: Int) -> Self
}
