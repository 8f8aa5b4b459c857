public import Foundation

/// Where the reference data is read from: the copy built into the library, or a catalogue folder in the
/// same format (for newer editions, without code changes).
public enum CatalogueSource: Sendable, Hashable, CustomStringConvertible {
    /// The `catalogue/` folder as it was when the library was built, embedded at build time.
    case builtIn
    /// A folder laid out like the project's `catalogue/`.
    case folder(URL)

    public var description: String {
        switch self {
        case .builtIn: "built-in"
        case .folder(let url): url.path
        }
    }

    /// The name of a file for messages.
    func display(_ path: String) -> String {
        switch self {
        case .builtIn: "catalogue/\(path) (built in)"
        case .folder(let url): url.appendingPathComponent(path).path
        }
    }

    /// Calls `body` with the bytes of the file at `path` (relative to the catalogue folder).
    func withBytes<R>(_ path: String, _ body: (UnsafeRawBufferPointer) throws(InputError) -> R) throws(InputError) -> R {
        switch self {
        case .builtIn:
            guard let text = EmbeddedData.files["catalogue/" + path] else {
                throw InputError(file: display(path), message: "not built in: expected a file of the catalogue")
            }
            return try body(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        case .folder(let url):
            let file = url.appendingPathComponent(path)
            let data: Data
            do {
                data = try Data(contentsOf: file, options: .mappedIfSafe)
            } catch {
                throw InputError(
                    file: file.path, message: "cannot be read (\(error.localizedDescription)): expected a file of the catalogue")
            }
            var result: Result<R, InputError>?
            data.withUnsafeBytes { bytes in
                do throws(InputError) {
                    result = .success(try body(bytes))
                } catch {
                    result = .failure(error)
                }
            }
            // `withUnsafeBytes` always runs its closure, so `result` is set.
            guard let result else { throw InputError(file: file.path, message: "could not be read") }
            return try result.get()
        }
    }
}
