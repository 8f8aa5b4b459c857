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
        func line(_ row: [Cell]) {
            var text = ""
            for (index, width) in widths.enumerated() {
                if index > 0 { text += "  " }
                let cell = index < row.count ? row[index] : Cell("", maxWidth: maxWidth)
                let padding = String(repeating: " ", count: width - cell.width)
                text += alignments[index] == .right ? padding + cell.text : cell.text + padding
            }
            while text.utf8.last == 0x20 { text.removeLast() }
            output += text
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
    }
}
