import Foundation
import PostgresNIO

/// How the synchronous store talks to the asynchronous client.
///
/// The store contract is synchronous (the CLI is, and reports stream through plain sequences), postgres-nio is
/// `async`. Each ``PostgresStore`` owns a one-thread `MultiThreadedEventLoopGroup`; every piece of async work runs
/// as a task whose *executor preference* is that event loop (``EventLoopTaskExecutor``), and the calling thread
/// waits on a condition for its result. So the async side never needs a thread of Swift's cooperative pool: a
/// caller that is itself on the pool (a test, a server handling a request) may block without starving the work
/// it waits for, and the connection's I/O and the task run on the same thread without hopping. Waiting from the
/// event loop's own thread would deadlock and is refused.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

/// A one-thread event loop and the blocking bridge to it.
final class Bridge: Sendable {
    let group: MultiThreadedEventLoopGroup
    let loop: any EventLoop
    let executor: EventLoopTaskExecutor

    init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        executor = EventLoopTaskExecutor(loop: loop)
    }

    /// Runs `operation` on the event loop and waits for its result. When `watch`'s connection closes first (the
    /// connection the operation uses went away), the wait ends with ``ConnectionLost``: postgres-nio does not
    /// always fail a query that was sent on a connection the server had just closed.
    func run<T: Sendable>(
        failingOn watch: ConnectionWatch? = nil, _ operation: @escaping @Sendable () async throws -> T
    ) throws -> T {
        precondition(!loop.inEventLoop, "PostgresStore: a blocking call from the store's own event loop")
        let box = ResultBox<T>()
        if let watch, !watch.add(box) { throw ConnectionLost() }
        defer { watch?.remove(box) }
        Task(executorPreference: executor) {
            do { box.set(.success(try await operation())) } catch { box.set(.failure(error)) }
        }
        return try box.wait().get()
    }

    /// Starts `operation` on the event loop without waiting.
    func start(_ operation: @escaping @Sendable () async -> Void) {
        Task(executorPreference: executor) { await operation() }
    }

    /// Stops the event loop thread (after the connection is closed).
    func shutdown() {
        try? group.syncShutdownGracefully()
    }
}

/// The connection closed while an operation waited on it.
struct ConnectionLost: Error {}

/// Something waiting on a connection that must be told when the connection closes.
protocol ConnectionLossObserver: AnyObject, Sendable {
    func connectionLost()
}

/// Tells what waits on one connection that the connection closed, through one callback on its `closeFuture` for
/// all of them.
///
/// A callback per query stayed registered until the connection closed, and with it the query's result box and the
/// rows in it: a national import into a filled store (two look-ups per region, the second fetching the region's
/// versions) grew to 1.2 GB where the same import into SQLite took 136 MB (`/usr/bin/time -v`, session 7).
///
/// `@unchecked Sendable`: `observers` and `closed` are read and written only with `lock` held.
final class ConnectionWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false
    private var observers: [ObjectIdentifier: any ConnectionLossObserver] = [:]

    init(_ closeFuture: EventLoopFuture<Void>) {
        closeFuture.whenComplete { [weak self] _ in self?.connectionClosed() }
    }

    /// Watches `observer` until ``remove(_:)``; `false` (and not watched) when the connection has closed already.
    func add(_ observer: any ConnectionLossObserver) -> Bool {
        lock.withLock {
            if closed { return false }
            observers[ObjectIdentifier(observer)] = observer
            return true
        }
    }

    func remove(_ observer: any ConnectionLossObserver) {
        _ = lock.withLock { observers.removeValue(forKey: ObjectIdentifier(observer)) }
    }

    /// How many are watched (for tests).
    var count: Int { lock.withLock { observers.count } }

    private func connectionClosed() {
        let told = lock.withLock {
            closed = true
            defer { observers = [:] }
            return observers
        }
        for observer in told.values { observer.connectionLost() }
    }
}

/// One result, handed from the event loop to a waiting thread.
final class ResultBox<T: Sendable>: ConnectionLossObserver, @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<T, any Error>?

    /// Sets the result; the first one wins.
    func set(_ value: Result<T, any Error>) {
        condition.lock()
        if result == nil { result = value }
        condition.signal()
        condition.unlock()
    }

    func connectionLost() { set(.failure(ConnectionLost())) }

    func wait() -> Result<T, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result { return result }
            condition.wait()
        }
    }
}

/// Chunks of rows handed from a producer on the event loop (which suspends when the channel is full, never
/// blocking the loop) to a consumer thread (which blocks when it is empty). At most `capacity` chunks wait, so
/// a cursor holds a bounded number of rows whatever the size of the result.
final class ChunkChannel<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    /// The waiting chunks, oldest first (at most `capacity`: taking the first moves the others, which is cheap
    /// and, unlike advancing an index, releases the chunk taken).
    private var chunks: [Element] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private var waitingProducer: CheckedContinuation<Void, Never>?
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    private var count: Int { chunks.count }

    /// Hands a chunk on; suspends while the channel is full. Returns `false` when the consumer has gone.
    /// The chunk is taken over: the channel then holds its only reference, so the consumer can move values out of
    /// it in place (a reference kept here would make that a copy of the whole page).
    func put(_ chunk: consuming Element) async -> Bool {
        var pending: Element? = chunk
        while true {
            switch offer(&pending) {
            case .accepted: return true
            case .cancelled: return false
            case .full:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    waitForSpace(continuation)
                }
            }
        }
    }

    private enum Offer { case accepted, cancelled, full }

    private func offer(_ chunk: inout Element?) -> Offer {
        condition.lock()
        defer { condition.unlock() }
        if cancelled { return .cancelled }
        guard count < capacity, let taken = chunk.take() else { return .full }
        chunks.append(taken)
        condition.broadcast()
        return .accepted
    }

    /// Resumes `continuation` when there is space (or the consumer has gone).
    private func waitForSpace(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        if count < capacity || cancelled {
            condition.unlock()
            continuation.resume()
        } else {
            waitingProducer = continuation
            condition.unlock()
        }
    }

    /// Marks the end, with the error that ended the result early, if any.
    func finish(_ error: (any Error)?) {
        condition.lock()
        if finished {
            condition.unlock()
            return
        }
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or `nil` at the end; rethrows the producer's error.
    func take() throws -> Element? {
        condition.lock()
        while count == 0 && !finished { condition.wait() }
        if count > 0 {
            let chunk = chunks.removeFirst()
            let producer = waitingProducer
            waitingProducer = nil
            condition.unlock()
            producer?.resume()
            return chunk
        }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
        return nil
    }

    /// The consumer stops early: the producer's next `put` returns `false`.
    func cancel() {
        condition.lock()
        cancelled = true
        chunks.removeAll()
        let producer = waitingProducer
        waitingProducer = nil
        condition.unlock()
        producer?.resume()
    }

    /// Waits until the producer has finished (after ``cancel()``, it finishes at its next `put`).
    func waitUntilFinished() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
