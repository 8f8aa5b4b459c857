import Foundation
import OZGCore

/// Reads the XML files of one import ahead, with ``XMLReportFastPath``, on a thread of its own, while the import
/// turns the files before into rows and writes them: the ministry's `ozgtrack import *.xml` so spreads its work
/// over both cores (see docs/performance.md, "The ministry's collection").
///
/// At most ``depth`` files wait, read and checked, so memory stays bounded however many files there are. The
/// sources made with it (``XMLRecordSource/init(path:validator:maxBytes:absentValues:lookAhead:)``) take the
/// results in the order of `paths`; a source that asks out of order reads its file itself, as does any file the
/// fast path does not take. Reading stops when the look-ahead is released.
public final class XMLLookAhead: Sendable {
    /// How many files at most wait, read ahead.
    public static let depth = 8

    private let channel: BoundedChannel<Result>

    /// One file read ahead: its path, and its entries when the fast path took it.
    struct Result: Sendable {
        let path: String
        let entries: FastEntries?
    }

    /// Starts reading `paths` in this order.
    /// - Parameter maxBytes: the largest input accepted (see ``XMLInputLimits/maxBytes``).
    public init(paths: [String], maxBytes: Int = XMLInputLimits.maxBytes) {
        let channel = BoundedChannel<Result>(capacity: Self.depth)
        self.channel = channel
        Thread.detachNewThread {
            let buffer = ReadBuffer()
            for path in paths {
                guard !channel.isCancelled else { break }
                let entries = XMLRecordSource.fastEntries(path: path, maxBytes: maxBytes, buffer: buffer)
                do {
                    try channel.send(Result(path: path, entries: entries))
                } catch {
                    break
                }
            }
            channel.close()
        }
    }

    deinit { channel.cancel() }

    /// The fast path's entries of `path` if it is the next file read ahead and the fast path took it; `nil` when
    /// the caller must read the file itself. Asking out of order stops the look-ahead.
    func entries(for path: String) -> FastEntries? {
        guard let next = try? channel.receive() else { return nil }
        guard next.path == path else {
            channel.cancel()
            return nil
        }
        return next.entries
    }
}
