import Foundation

/// A bounded, first-in-first-out hand-over of values from one producing thread to one consuming thread.
///
/// The producer ``send(_:)``s values and ends with ``close(error:)``; the consumer ``receive()``s them in order
/// until `nil` (the end) or the producer's error, or gives up with ``cancel(error:)``. At most `capacity` values
/// wait: a producer that runs ahead blocks in ``send(_:)`` (backpressure), so memory stays bounded when the
/// consumer is slower. Cancelling wakes both sides; the producer's next ``send(_:)`` then throws, so that it
/// stops instead of blocking for good.
///
/// It carries chunks (of rows, of bytes), not single small values: one lock round trip per chunk is then
/// negligible. Used by the import (rows from the reading stage to the writing one) and ``BackgroundSink``
/// (bytes from the formatting thread to the writing one).
package final class BoundedChannel<Element> {
    private let condition = NSCondition()
    /// The waiting values, oldest first (a few chunks: removing the first is cheap).
    private var buffer: [Element] = []
    private var closed = false
    private var closingError: (any Error)?
    private var cancelled = false
    private var cancellingError: (any Error)?
    /// At most this many values wait.
    package let capacity: Int

    /// Thrown by ``send(_:)`` after the consumer cancelled without giving a reason.
    package struct Cancelled: Error, Equatable {}

    /// A channel where at most `capacity` (at least 1) values wait.
    package init(capacity: Int) {
        self.capacity = max(1, capacity)
        buffer.reserveCapacity(self.capacity)
    }

    private var count: Int { buffer.count }

    /// Hands `element` on, waiting while `capacity` values wait.
    /// - Throws: the error the consumer cancelled with (``Cancelled`` when it gave none); the value is dropped.
    /// The value is taken over (`consuming`), so a chunk the sender no longer holds reaches the consumer as the only
    /// reference: the consumer may change it in place without copying it.
    package func send(_ element: consuming Element) throws {
        condition.lock()
        defer { condition.unlock() }
        while count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw cancellingError ?? Cancelled() }
        buffer.append(element)
        condition.broadcast()
    }

    /// Ends the input: the consumer receives what waits, then `nil`, or `error` when one is given (the
    /// producer's failure). Idempotent: the first call counts.
    package func close(error: (any Error)? = nil) {
        condition.lock()
        if !closed {
            closed = true
            closingError = error
        }
        condition.broadcast()
        condition.unlock()
    }

    /// The next value in the order sent, waiting while none waits; `nil` at the end or after ``cancel(error:)``.
    /// - Throws: the error the producer closed with, once every value before it has been received.
    package func receive() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !closed && !cancelled { condition.wait() }
        if cancelled { return nil }
        if count > 0 {
            let element = buffer.removeFirst()
            condition.broadcast()
            return element
        }
        if let closingError { throw closingError }
        return nil
    }

    /// The consumer gives up: waiting values are dropped, ``receive()`` returns `nil`, and the producer's
    /// ``send(_:)`` throws `error` (or ``Cancelled``). Idempotent: the first reason counts.
    package func cancel(error: (any Error)? = nil) {
        condition.lock()
        if !cancelled {
            cancelled = true
            cancellingError = error
            buffer.removeAll()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Whether ``cancel(error:)`` was called.
    package var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}

/// `@unchecked`: every stored property is read and written only with `condition` locked.
extension BoundedChannel: @unchecked Sendable where Element: Sendable {}
