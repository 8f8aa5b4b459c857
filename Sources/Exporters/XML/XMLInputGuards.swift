import Foundation
import OZGCore

/// Checks what comes before the root element, on the raw bytes, before any parser sees them.
enum XMLProlog {
    enum Verdict: Equatable {
        /// The prolog continues past the bytes read so far.
        case needMore
        /// The root element (or something the parser will reject itself) starts; no DOCTYPE before it.
        case accepted
        /// Refused: line, field and message.
        case refused(line: Int, field: String?, message: String)
    }

    static let doctypeMessage = "the document contains a DOCTYPE: expected none — DTDs and entities are not accepted"

    static func check(_ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool) -> Verdict {
        let count = bytes.count
        if count >= 2, (bytes[0] == 0xFE && bytes[1] == 0xFF) || (bytes[0] == 0xFF && bytes[1] == 0xFE) {
            return .refused(line: 1, field: nil, message: "is UTF-16 or UTF-32 encoded: expected UTF-8")
        }
        if count >= 2, bytes[0] == 0x00 || bytes[1] == 0x00 {
            return .refused(line: 1, field: nil, message: "is UTF-16 or UTF-32 encoded: expected UTF-8")
        }
        var index = 0
        var line = 1
        if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        let start = index

        func hasPrefix(_ text: StaticString, at position: Int, ignoringCase: Bool = false) -> Bool? {
            let length = text.utf8CodeUnitCount
            for offset in 0..<length {
                guard position + offset < count else { return atEnd ? false : nil }
                var byte = bytes[position + offset]
                var expected = text.utf8Start[offset]
                if ignoringCase {
                    if byte >= 0x61 && byte <= 0x7A { byte -= 0x20 }
                    if expected >= 0x61 && expected <= 0x7A { expected -= 0x20 }
                }
                if byte != expected { return false }
            }
            return true
        }
        /// The position just after `terminator` from `position`, counting lines; `nil` when not yet read.
        func skip(past terminator: StaticString, from position: Int) -> Int? {
            var cursor = position
            let length = terminator.utf8CodeUnitCount
            while cursor + length <= count {
                if hasPrefix(terminator, at: cursor) == true { return cursor + length }
                if bytes[cursor] == 0x0A { line += 1 }
                cursor += 1
            }
            return nil
        }

        while true {
            guard index < count else {
                guard atEnd else { return .needMore }
                return .refused(
                    line: line, field: nil,
                    message: (count == start ? "is empty" : "contains no element")
                        + ": expected an XML document with the root element umsetzungsbericht")
            }
            let byte = bytes[index]
            switch byte {
            case 0x20, 0x09, 0x0D:
                index += 1
            case 0x0A:
                line += 1
                index += 1
            case 0x3C:  // '<'
                guard let pi = hasPrefix("<?", at: index) else { return .needMore }
                if pi {
                    let declarationLine = line
                    guard let end = skip(past: "?>", from: index + 2) else { return atEnd ? .accepted : .needMore }
                    if index == start, hasPrefix("<?xml", at: index) == true, end - index > 6 {
                        let declaration = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
                        if let encoding = declaredEncoding(declaration), !["utf-8", "utf8"].contains(encoding.lowercased()) {
                            return .refused(
                                line: declarationLine, field: "encoding",
                                message: "\(encoding.quotedForMessage) is declared as the encoding: expected UTF-8")
                        }
                    }
                    index = end
                    continue
                }
                guard let comment = hasPrefix("<!--", at: index) else { return .needMore }
                if comment {
                    guard let end = skip(past: "-->", from: index + 4) else { return atEnd ? .accepted : .needMore }
                    index = end
                    continue
                }
                guard let doctype = hasPrefix("<!DOCTYPE", at: index, ignoringCase: true) else { return .needMore }
                if doctype { return .refused(line: line, field: nil, message: doctypeMessage) }
                // The root element, or markup the parser will reject with its own message.
                return .accepted
            default:
                return .accepted
            }
        }
    }

    /// The value of `encoding="…"` in an XML declaration.
    static func declaredEncoding(_ declaration: String) -> String? {
        guard let range = declaration.range(of: "encoding") else { return nil }
        var rest = declaration[range.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        let value = rest.dropFirst().prefix { $0 != quote }
        return String(value)
    }
}

/// Counts the attributes of every tag in the bytes handed to libxml2, before libxml2 parses them, so that an
/// element with thousands of attributes is refused before libxml2's quadratic duplicate check runs; and notes
/// the line of every start tag, for ``XMLStreamReader/elementLine``.
///
/// A small state machine over the raw bytes that follows text, tags, quoted attribute values, comments,
/// CDATA sections and processing instructions across chunk boundaries; an `=` inside a tag and outside quotes
/// is one attribute. (DOCTYPEs never get here: ``XMLProlog`` refuses them.)
///
/// Start-tag lines: libxml2 stores an element's line in 16 bits and gives 65535 for every element further down
/// (`XML_PARSE_BIG_LINES` extends only text nodes), which in a report of a Land is most of them. Every start
/// tag is an element node and every element node comes from a start tag, in the same order (no entity can add
/// elements: there is no DTD), so the n-th start tag seen here is the n-th element the reader reaches. The
/// lines wait in a queue until the reader takes them; libxml2 reads only a few kilobytes ahead, so the queue
/// stays short.
struct XMLMarkupGuard {
    private enum State {
        case text, afterLess, afterBang, afterBangDash, tag, quoted(UInt8), comment, cdata, instruction
    }

    private var state = State.text
    private var attributes = 0
    private var line = 1
    /// The line where the current tag starts.
    private var tagLine = 1
    /// The two bytes before the current one (for `-->`, `]]>`, `?>` across chunks).
    private var last: UInt8 = 0
    private var beforeLast: UInt8 = 0
    /// The lines of start tags seen and not yet taken, from `head` on.
    private var startLines: [Int] = []
    private var head = 0

    /// The line of the oldest start tag not yet taken (``XMLStreamReader`` takes one per element node).
    mutating func takeStartLine() -> Int? {
        guard head < startLines.count else { return nil }
        let line = startLines[head]
        head += 1
        if head == startLines.count {
            startLines.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 && head * 2 >= startLines.count {
            startLines.removeFirst(head)
            head = 0
        }
        return line
    }

    /// Follows `bytes`; the line of a tag with too many attributes, if there is one.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int? {
        for byte in bytes {
            if byte == 0x0A { line += 1 }
            switch state {
            case .text:
                if byte == 0x3C {  // <
                    state = .afterLess
                    tagLine = line
                }
            case .afterLess:
                switch byte {
                case 0x21: state = .afterBang  // !
                case 0x3F: state = .instruction  // ?
                default:
                    attributes = 0
                    state = byte == 0x3E ? .text : .tag
                    // `</` ends an element; anything else after `<` is a start tag (or an error libxml2 reports).
                    if byte != 0x2F && byte != 0x3E { startLines.append(tagLine) }
                }
            case .afterBang:
                state = byte == 0x2D ? .afterBangDash : byte == 0x5B ? .cdata : .tag  // - or [
                attributes = 0
            case .afterBangDash:
                state = byte == 0x2D ? .comment : .tag
            case .tag:
                switch byte {
                case 0x22, 0x27: state = .quoted(byte)
                case 0x3D:  // =
                    attributes += 1
                    if attributes > XMLInputLimits.maxAttributes { return tagLine }
                case 0x3E: state = .text
                default: break
                }
            case .quoted(let quote):
                if byte == quote { state = .tag }
            case .comment:
                if byte == 0x3E && last == 0x2D && beforeLast == 0x2D { state = .text }
            case .cdata:
                if byte == 0x3E && last == 0x5D && beforeLast == 0x5D { state = .text }
            case .instruction:
                if byte == 0x3E && last == 0x3F { state = .text }
            }
            beforeLast = last
            last = byte
        }
        return nil
    }
}
