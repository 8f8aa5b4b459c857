import Foundation
import OZGCore

/// The limits ozgtrack applies to XML input.
public enum XMLInputLimits {
    /// The largest XML input accepted: 16 GiB. Input is streamed (never held in memory), so the limit bounds
    /// the work hostile input can cause rather than memory; a national report of about six million rows is
    /// roughly 3 GB (6 GB with every record filled in and provenance). Larger than ``InputFile/maxBytes``
    /// because the XML format repeats names on every row.
    public static let maxBytes = 16 << 30
    /// The most bytes accepted before the root element (XML declaration, comments): 1 MiB.
    public static let maxPrologBytes = 1 << 20
    /// The most attributes (namespace declarations included) one element may have: 64. ozgtrack's elements have
    /// at most six; the limit stops libxml2 2.9's duplicate-attribute check, whose time grows with the square
    /// of the count (100,000 attributes in 1 MB take about 20 seconds), before it starts.
    public static let maxAttributes = 64
}

/// The bytes of an XML input, handed to libxml2 in chunks through its read callback.
///
/// Before libxml2 sees anything, the prolog is checked: a document type declaration is refused (so that no DTD
/// is read and no entity declared, hence none expanded or fetched), as are UTF-16/UTF-32 input and a declared
/// encoding other than UTF-8. The size limit is enforced as bytes arrive. A refusal is kept in ``failure``;
/// the callback then reports an error, which stops libxml2.
final class XMLInputStream {
    private enum Origin {
        case descriptor(Int32, owned: Bool)
        case memory([UInt8])
    }

    /// The input's name in messages.
    let file: String
    let maxBytes: Int
    /// Why reading stopped early, if it did.
    private(set) var failure: InputError?
    private var origin: Origin
    private var consumed = 0
    private var held: [UInt8] = []
    private var heldOffset = 0
    private var prologChecked = false
    private var markup = XMLMarkupGuard()
    private var memoryOffset = 0
    private var closed = false

    /// Opens `path` (`-` for standard input).
    /// - Throws: ``InputError`` naming the file when it does not exist, is a directory, cannot be opened or is
    ///   larger than `maxBytes`.
    init(path: String, maxBytes: Int) throws(InputError) {
        self.maxBytes = maxBytes
        if path == "-" {
            file = "<stdin>"
            origin = .descriptor(0, owned: false)
            return
        }
        file = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw InputError(file: path, message: "does not exist: expected a readable file") }
            throw InputError(file: path, message: "cannot be opened (\(String(cString: strerror(code)))): expected a readable file")
        }
        var status = stat()
        if fstat(descriptor, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFDIR {
                _ = close(descriptor)
                throw InputError(file: path, message: "is a directory: expected a file")
            }
            if status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) > maxBytes {
                _ = close(descriptor)
                throw InputError(file: path, message: "is \(status.st_size) bytes long: expected at most \(maxBytes) bytes of XML")
            }
        }
        origin = .descriptor(descriptor, owned: true)
    }

    /// An input held in memory (for validating a string).
    init(bytes: [UInt8], name: String, maxBytes: Int) {
        file = name
        self.maxBytes = maxBytes
        origin = .memory(bytes)
    }

    deinit { closeInput() }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    func closeInput() {
        guard !closed else { return }
        closed = true
        if case .descriptor(let descriptor, owned: true) = origin { _ = close(descriptor) }
        origin = .memory([])
    }

    /// Fills `buffer` with up to `capacity` bytes: the count, 0 at the end, -1 after a refusal or a read error.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int32 {
        guard failure == nil else { return -1 }
        if !prologChecked {
            guard checkProlog() else { return -1 }
        }
        let count: Int
        if heldOffset < held.count {
            count = min(capacity, held.count - heldOffset)
            held.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { buffer.copyMemory(from: base + heldOffset, byteCount: count) }
            }
            heldOffset += count
            if heldOffset == held.count {
                held = []
                heldOffset = 0
            }
        } else {
            count = readRaw(into: buffer, capacity: capacity)
            if count < 0 { return -1 }
        }
        if let line = markup.scan(UnsafeRawBufferPointer(start: buffer, count: count)) {
            failure = InputError(
                file: file, line: line,
                message: "an element has more than \(XMLInputLimits.maxAttributes) attributes: expected at most "
                    + "\(XMLInputLimits.maxAttributes) (ozgtrack's elements have at most six)")
            return -1
        }
        return Int32(count)
    }

    /// Reads until the prolog is decided; keeps what was read for libxml2. `false` when refused.
    private func checkProlog() -> Bool {
        let chunk = 64 << 10
        var scratch = [UInt8](repeating: 0, count: chunk)
        while true {
            let count = scratch.withUnsafeMutableBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return -1 }
                return readRaw(into: base, capacity: chunk)
            }
            if count < 0 { return false }
            held.append(contentsOf: scratch[0..<count])
            let verdict = held.withUnsafeBufferPointer { XMLProlog.check($0, atEnd: count == 0) }
            switch verdict {
            case .needMore:
                if held.count > XMLInputLimits.maxPrologBytes {
                    failure = InputError(
                        file: file, line: 1,
                        message: "has more than \(XMLInputLimits.maxPrologBytes) bytes before the root element: expected the root "
                            + "element umsetzungsbericht near the start")
                    return false
                }
            case .accepted:
                prologChecked = true
                return true
            case .refused(let line, let field, let message):
                failure = InputError(file: file, line: line, field: field, message: message)
                return false
            }
        }
    }

    /// Reads raw bytes and enforces the size limit: the count, 0 at the end, -1 on failure.
    private func readRaw(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int {
        var count: Int
        switch origin {
        case .memory(let bytes):
            count = min(capacity, bytes.count - memoryOffset)
            bytes.withUnsafeBytes { source in
                if let base = source.baseAddress, count > 0 { buffer.copyMemory(from: base + memoryOffset, byteCount: count) }
            }
            memoryOffset += count
        case .descriptor(let descriptor, _):
            repeat {
                count = Foundation.read(descriptor, buffer, capacity)
            } while count < 0 && errno == EINTR
            if count < 0 {
                failure = InputError(file: file, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
                return -1
            }
        }
        consumed += count
        if consumed > maxBytes {
            failure = InputError(file: file, message: "is longer than \(maxBytes) bytes: expected at most \(maxBytes) bytes of XML")
            return -1
        }
        return count
    }
}

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
/// element with thousands of attributes is refused before libxml2's quadratic duplicate check runs.
///
/// A small state machine over the raw bytes that follows text, tags, quoted attribute values, comments,
/// CDATA sections and processing instructions across chunk boundaries; an `=` inside a tag and outside quotes
/// is one attribute. (DOCTYPEs never get here: ``XMLProlog`` refuses them.)
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
