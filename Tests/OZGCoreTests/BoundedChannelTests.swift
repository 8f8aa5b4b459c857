import Foundation
import Synchronization
import Testing

@testable import OZGCore

/// Runs `body` on a thread of its own; `wait()` on the returned semaphore waits for it.
private func onThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        body()
        done.signal()
    }
    return done
}

private struct ProducerFailed: Error, Equatable {}
private struct ConsumerFailed: Error, Equatable {}

@Suite("BoundedChannel: one producer thread hands values to one consumer thread, in order and bounded")
struct BoundedChannelTests {
    @Test("values arrive in the order sent, then nil after close", arguments: [1, 3, 8])
    func ordering(capacity: Int) throws {
        let channel = BoundedChannel<Int>(capacity: capacity)
        let producer = onThread {
            for value in 0..<10_000 { try? channel.send(value) }
            channel.close()
        }
        var received: [Int] = []
        while let value = try channel.receive() { received.append(value) }
        producer.wait()
        #expect(received == Array(0..<10_000))
        #expect(try channel.receive() == nil)
    }

    @Test("a producer that runs ahead blocks once capacity values wait (backpressure)")
    func backpressure() throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let sent = Atomic<Int>(0)
        let producer = onThread {
            for value in 0..<5 {
                try? channel.send(value)
                sent.add(1, ordering: .sequentiallyConsistent)
            }
            channel.close()
        }
        // Give the producer time to run as far as it can: two values fit, the third send waits.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(sent.load(ordering: .sequentiallyConsistent) == 2)
        #expect(try channel.receive() == 0)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(sent.load(ordering: .sequentiallyConsistent) == 3)
        var rest: [Int] = []
        while let value = try channel.receive() { rest.append(value) }
        producer.wait()
        #expect(rest == [1, 2, 3, 4])
    }

    @Test("the producer's error arrives after the values sent before it")
    func closeWithError() throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        let producer = onThread {
            try? channel.send(1)
            try? channel.send(2)
            channel.close(error: ProducerFailed())
        }
        producer.wait()
        #expect(try channel.receive() == 1)
        #expect(try channel.receive() == 2)
        #expect(throws: ProducerFailed.self) { try channel.receive() }
    }

    @Test("a consumer that gives up wakes a blocked producer, whose send throws the consumer's reason")
    func cancelUnblocksProducer() throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        let failure = Mutex<(any Error)?>(nil)
        let producer = onThread {
            do {
                for value in 0..<100 { try channel.send(value) }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        #expect(try channel.receive() == 0)
        channel.cancel(error: ConsumerFailed())
        #expect(producer.wait(timeout: .now() + 5) == .success)
        #expect(failure.withLock { $0 } is ConsumerFailed)
        #expect(try channel.receive() == nil)
        #expect(channel.isCancelled)
    }

    @Test("cancelling without a reason makes send throw Cancelled; values waiting are dropped")
    func cancelWithoutReason() throws {
        let channel = BoundedChannel<[UInt8]>(capacity: 4)
        try channel.send([1])
        try channel.send([2])
        channel.cancel()
        #expect(try channel.receive() == nil)
        #expect(throws: BoundedChannel<[UInt8]>.Cancelled()) { try channel.send([3]) }
    }

    @Test("a consumer waiting on an empty channel is woken by close and by cancel", arguments: [false, true])
    func wakesConsumer(cancel: Bool) throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let result = Mutex<Int?>(-1)
        let consumer = onThread { result.withLock { $0 = (try? channel.receive()) ?? nil } }
        Thread.sleep(forTimeInterval: 0.1)
        if cancel { channel.cancel() } else { channel.close() }
        #expect(consumer.wait(timeout: .now() + 5) == .success)
        #expect(result.withLock { $0 } == nil)
    }
}
