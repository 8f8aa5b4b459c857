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
        let cut: [[String]] = ([headers] + rows).map { row in
            row.map { cell in
                cell.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
                    .displayed(limit: maxWidth - 1)
            }
        }
        var widths = [Int](repeating: 0, count: headers.count)
        for row in cut { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
        func line(_ row: [String]) -> String {
            var parts: [String] = []
            for (index, width) in widths.enumerated() {
                let cell = index < row.count ? row[index] : ""
                let padding = String(repeating: " ", count: width - cell.count)
                parts.append(alignments[index] == .right ? padding + cell : cell + padding)
            }
            var text = parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var output = [line(cut[0]), widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")]
        output += cut.dropFirst().map(line)
        return output.joined(separator: "\n") + "\n"
    }
}
