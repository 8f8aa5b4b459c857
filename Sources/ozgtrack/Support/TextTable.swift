/// A plain text table for people: a header, a rule and aligned columns.
struct TextTable {
    enum Alignment { case left, right }

    var headers: [String]
    var alignments: [Alignment]
    var rows: [[String]] = []

    init(_ headers: [String], right: Set<Int> = []) {
        self.headers = headers
        self.alignments = headers.indices.map { right.contains($0) ? .right : .left }
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    /// The table as text; cells are cut at `maxWidth` characters with an ellipsis. Line breaks become spaces;
    /// other control, zero-width and bidirectional-override characters are shown escaped (`\u{202e}`), so that a
    /// stored note can neither break the table nor drive the terminal.
    func render(maxWidth: Int = 60) -> String {
        let cut: [[Cell]] = ([headers] + rows).map { row in row.map { Cell($0, maxWidth: maxWidth) } }
        var widths = [Int](repeating: 0, count: headers.count)
        for row in cut { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.width) } }
        var output = ""
        // Written straight into the output with padding made once per width: a line built as its own string, with
        // a new padding string per cell, was a third of the table's cost (`status` prints 557 rows; `perf record`).
        let paddings = (0...(widths.max() ?? 0)).map { String(repeating: " ", count: $0) }
        func line(_ row: [Cell]) {
            let lineStart = output.utf8.count
            for (index, width) in widths.enumerated() {
                if index > 0 { output += "  " }
                let cell = index < row.count ? row[index] : Cell("", maxWidth: maxWidth)
                let padding = paddings[max(0, width - cell.width)]
                if alignments[index] == .right {
                    output += padding
                    output += cell.text
                } else {
                    output += cell.text
                    output += padding
                }
            }
            while output.utf8.count > lineStart, output.utf8.last == 0x20 { output.removeLast() }
            output += "\n"
        }
        line(cut[0])
        output += widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ") + "\n"
        for row in cut.dropFirst() { line(row) }
        return output
    }

    /// A cell as shown, with its width in characters.
    private struct Cell {
        var text: String
        var width: Int

        init(_ raw: String, maxWidth: Int) {
            // Most cells are short printable ASCII: shown as they are, their width is their length.
            if raw.utf8.count <= maxWidth, raw.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
                text = raw
                width = raw.utf8.count
                return
            }
            if let plain = Self.plainWidth(raw, maxWidth: maxWidth) {
                text = raw
                width = plain
                return
            }
            var flat = ""
            flat.unicodeScalars.reserveCapacity(raw.unicodeScalars.count)
            var previous: Unicode.Scalar?
            for scalar in raw.unicodeScalars {
                if scalar == "\n" || scalar == "\r" {
                    if !(scalar == "\n" && previous == "\r") { flat.unicodeScalars.append(" ") }
                } else {
                    flat.unicodeScalars.append(scalar)
                }
                previous = scalar
            }
            text = flat.displayed(limit: flat.unicodeScalars.count <= maxWidth ? maxWidth : maxWidth - 1)
            width = text.count
        }

        /// The width of a cell shown as it is: at most `maxWidth` scalars, each printable, never escaped and a
        /// character of its own (Latin-1 and Latin Extended letters, dashes, quotes and other general
        /// punctuation) — the names of the catalogue and the registry. `nil` for anything else, which takes the
        /// careful way above (counting characters there was most of the cost of a cell: `perf record` of `status`).
        static func plainWidth(_ raw: String, maxWidth: Int) -> Int? {
            var count = 0
            for scalar in raw.unicodeScalars {
                switch scalar.value {
                case 0x20..<0x7F, 0xA0..<0x300, 0x2010...0x2027, 0x2030...0x205E, 0x20AC: count += 1
                default: return nil
                }
                if count > maxWidth { return nil }
            }
            return count
        }
    }
}
