import Foundation

/// Finds the line on which each object of a JSON document's record arrays starts.
///
/// Foundation's JSON parser gives no positions; this scanner only follows strings, nesting and keys, so that an
/// error in the 17th record can name its line. Arrays are identified by the key they are the value of
/// (`""` for an array that is the document itself).
enum JSONLineLocator {
    /// For each array key, the start lines of the objects directly inside such arrays, in document order.
    static func objectLines(_ bytes: UnsafeRawBufferPointer) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        var line = 1
        var stack: [(isArray: Bool, key: String)] = []
        var lastString = ""
        var pendingKey = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x0A:
                line += 1
            case 0x22:  // a string: read to its closing quote, honouring escapes
                var end = index + 1
                while end < bytes.count && bytes[end] != 0x22 {
                    if bytes[end] == 0x5C { end += 1 }
                    end += 1
                }
                lastString = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<min(end, bytes.count)]), as: UTF8.self)
                index = end
            case 0x3A:  // ':' after a key
                pendingKey = lastString
            case 0x7B:  // '{'
                if let top = stack.last, top.isArray { result[top.key, default: []].append(line) }
                stack.append((false, ""))
            case 0x5B:  // '['
                let key = stack.isEmpty ? "" : (stack.last?.isArray == true ? stack.last?.key ?? "" : pendingKey)
                stack.append((true, stack.last?.isArray == true ? "\(key)[]" : key))
            case 0x7D, 0x5D:
                if !stack.isEmpty { stack.removeLast() }
            default:
                break
            }
            index += 1
        }
        return result
    }
}

/// Parses JSON and reports a syntax error with the file.
func parseJSON(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Any {
    guard !bytes.isEmpty else { throw InputError(.malformed, file: file, line: 1, message: "the file is empty: expected JSON") }
    if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
        throw InputError(.encoding, file: file, line: 1, message: "the file is UTF-16 encoded: expected UTF-8")
    }
    do {
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
        let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
        throw InputError(.malformed, file: file, message: "is not valid JSON (\(reason)): expected a JSON document")
    }
}

/// The text of a JSON value as the CSV format would hold it: strings as they are, integers without a
/// fraction, `null` as empty.
func jsonText(_ value: Any?, field: String) throws(InputError) -> String {
    switch value {
    case nil, is NSNull: return ""
    case let string as String: return string
    case let number as NSNumber:
        // JSON booleans arrive as NSNumber of ObjC type "c" (char); a 0/1 number has an integer type.
        if String(cString: number.objCType) == "c" {
            throw InputError(field: field, message: "\(number.boolValue) is a boolean: expected text or a number")
        }
        let double = number.doubleValue
        if double.rounded() == double, abs(double) < 1e15 { return String(Int(double)) }
        return number.stringValue
    default:
        throw InputError(field: field, message: "a nested value: expected text or a number")
    }
}
