/// One page of a keyset-paged list.
package struct Page<Item: Sendable & Hashable, Cursor: Sendable & Hashable>: Sendable, Hashable {
    package var items: [Item]
    /// Where the next page starts; nil on the last page.
    package var next: Cursor?
    /// Items matching the filters over all pages.
    package var totalCount: Int64

    package init(
        items: [Item], next: Cursor? = nil, totalCount: Int64
    ) {
        self.items = items
        self.next = next
        self.totalCount = totalCount
    }
}
