/// The hand-over of row chunks from a report's producing thread (``RowProducer``) to the thread that builds and
/// formats the rows (``ReportRows``). The producer never closes it with an error: a failed pass is reported
/// through ``RowMerger/failure``.
typealias RowChannel = BoundedChannel<RowChunk>
