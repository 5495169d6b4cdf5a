import CellHub

/// A statement of the store's SQL with its placeholders in PostgreSQL's spelling.
///
/// The store writes placeholders as SQLite does — `?` (the next number) and `?N` (number N,
/// reusable) — so its statements read like the SQLite store's. PostgreSQL wants `$N`. The
/// numbering follows SQLite's rule: a bare `?` takes one more than the largest number used
/// so far. Quoted text ('…', "…") is copied unchanged; the store's SQL has no `?` operator.
struct PGStatementText: Sendable {
    let text: String
    /// The largest parameter number: the count of arguments the statement takes.
    let parameterCount: Int

    init(_ sql: String) {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 8)
        var largest = 0
        var quote: Character?
        var characters = sql.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if let open = quote {
                output.append(character)
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                output.append(character)
            case "?":
                var digits = ""
                while let next = pending, next.isASCII, next.isNumber {
                    digits.append(next)
                    pending = characters.next()
                }
                let number = digits.isEmpty ? largest + 1 : Int(digits)!
                largest = max(largest, number)
                output += "$\(number)"
            default:
                output.append(character)
            }
        }
        text = output
        parameterCount = largest
    }
}
