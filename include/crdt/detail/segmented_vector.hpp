// crdt/detail/segmented_vector.hpp -- a vector that grows by fixed blocks,
// so that it never moves its elements once it holds a block's worth and its
// unused capacity stays under one block.
//
// Elements live in blocks of `block_size` = 2^BlockShift. The first block
// grows like a std::vector (by doubling, moving its elements) until it holds
// block_size; after that each new block is allocated whole and nothing
// moves. Element i is blocks_[i >> BlockShift][i & (block_size - 1)]: one
// more indirection than a vector, through a small array of block pointers.
//
// Why: lww_store keeps one slot per key in insertion order. In a
// std::vector, capacity doubles, so just after a doubling up to one unused
// slot per key is held (32 bytes per key for lww_map<uint64_t, uint64_t>,
// 80 for strings), and every doubling moves every slot. Here at most
// block_size - 1 slots are unused, whatever the size.
//
// Complexity: operator[] O(1); push_back O(1) amortized, O(1) worst case
// beyond the first block; reserve O(n) for the first block, O(blocks)
// after. Iterators are random access and stay valid across push_back once
// the first block is full (and references always do, then).
// Thread safety: a value. Exception safety: push_back and reserve are
// strong; copy construction cleans up after a throw.
#pragma once

#include <crdt/core/config.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail {

/// See the file comment.
template <class T, class Alloc = std::allocator<T>, unsigned BlockShift = 10>
class segmented_vector {
    using traits = std::allocator_traits<Alloc>;
    using block_ptr_alloc = typename traits::template rebind_alloc<T*>;

public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    using const_reference = const T&;
    using allocator_type = Alloc;
    static constexpr size_type block_size = size_type{1} << BlockShift;

    template <bool Const>
    class basic_iterator {
        using owner = std::conditional_t<Const, const segmented_vector, segmented_vector>;

    public:
        using iterator_category = std::random_access_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using reference = std::conditional_t<Const, const T&, T&>;
        using pointer = std::conditional_t<Const, const T*, T*>;

        basic_iterator() = default;
        basic_iterator(owner* v, size_type i) : v_(v), i_(i) {}
        operator basic_iterator<true>() const { return {v_, i_}; }

        reference operator*() const { return (*v_)[i_]; }
        pointer operator->() const { return &(*v_)[i_]; }
        reference operator[](difference_type n) const {
            return (*v_)[static_cast<size_type>(static_cast<difference_type>(i_) + n)];
        }
        basic_iterator& operator++() {
            ++i_;
            return *this;
        }
        basic_iterator operator++(int) {
            auto t = *this;
            ++i_;
            return t;
        }
        basic_iterator& operator--() {
            --i_;
            return *this;
        }
        basic_iterator operator--(int) {
            auto t = *this;
            --i_;
            return t;
        }
        basic_iterator& operator+=(difference_type n) {
            i_ = static_cast<size_type>(static_cast<difference_type>(i_) + n);
            return *this;
        }
        basic_iterator& operator-=(difference_type n) { return *this += -n; }
        friend basic_iterator operator+(basic_iterator a, difference_type n) { return a += n; }
        friend basic_iterator operator+(difference_type n, basic_iterator a) { return a += n; }
        friend basic_iterator operator-(basic_iterator a, difference_type n) { return a -= n; }
        friend difference_type operator-(const basic_iterator& a, const basic_iterator& b) {
            return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
        }
        friend bool operator==(const basic_iterator& a, const basic_iterator& b) {
            return a.i_ == b.i_;
        }
        friend auto operator<=>(const basic_iterator& a, const basic_iterator& b) {
            return a.i_ <=> b.i_;
        }

    private:
        owner* v_ = nullptr;
        size_type i_ = 0;
    };
    using iterator = basic_iterator<false>;
    using const_iterator = basic_iterator<true>;

    segmented_vector() = default;
    explicit segmented_vector(const Alloc& a) : alloc_(a), blocks_(block_ptr_alloc(a)) {}

    segmented_vector(const segmented_vector& o)
        : alloc_(traits::select_on_container_copy_construction(o.alloc_)),
          blocks_(block_ptr_alloc(alloc_)) {
        reserve(o.size_);
        for (const auto& x : o) {
            push_back(x); // on a throw, the destructor of *this frees what was built
        }
    }
    segmented_vector(segmented_vector&& o) noexcept
        : alloc_(std::move(o.alloc_)), blocks_(std::move(o.blocks_)), size_(o.size_),
          first_cap_(o.first_cap_) {
        o.blocks_.clear();
        o.size_ = 0;
        o.first_cap_ = 0;
    }
    segmented_vector& operator=(const segmented_vector& o) {
        if (this != &o) {
            segmented_vector t(o);
            swap(t);
        }
        return *this;
    }
    segmented_vector& operator=(segmented_vector&& o) noexcept {
        if (this != &o) {
            release();
            alloc_ = std::move(o.alloc_);
            blocks_ = std::move(o.blocks_);
            size_ = o.size_;
            first_cap_ = o.first_cap_;
            o.blocks_.clear();
            o.size_ = 0;
            o.first_cap_ = 0;
        }
        return *this;
    }
    ~segmented_vector() { release(); }

    void swap(segmented_vector& o) noexcept {
        using std::swap;
        swap(alloc_, o.alloc_);
        blocks_.swap(o.blocks_);
        swap(size_, o.size_);
        swap(first_cap_, o.first_cap_);
    }

    size_type size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    /// Returns: the number of elements the blocks hold room for.
    size_type capacity() const noexcept {
        return blocks_.empty() ? 0 : first_cap_ + (blocks_.size() - 1) * block_size;
    }
    /// Returns: bytes allocated (blocks and the block-pointer array).
    size_type allocated_bytes() const noexcept {
        return capacity() * sizeof(T) + blocks_.capacity() * sizeof(T*);
    }

    T& operator[](size_type i) noexcept { return blocks_[i >> BlockShift][i & (block_size - 1)]; }
    const T& operator[](size_type i) const noexcept {
        return blocks_[i >> BlockShift][i & (block_size - 1)];
    }
    T& back() noexcept { return (*this)[size_ - 1]; }

    iterator begin() noexcept { return {this, 0}; }
    iterator end() noexcept { return {this, size_}; }
    const_iterator begin() const noexcept { return {this, 0}; }
    const_iterator end() const noexcept { return {this, size_}; }

    /// Effects: makes room for `n` elements (the first block exactly, up to
    ///   block_size; whole blocks beyond).
    void reserve(size_type n) {
        if (n <= capacity()) {
            return;
        }
        if (first_cap_ < block_size) {
            resize_first(std::min(n, block_size));
        }
        if (n > block_size) {
            const size_type blocks = (n + block_size - 1) / block_size;
            blocks_.reserve(blocks);
            while (blocks_.size() < blocks) {
                blocks_.push_back(traits::allocate(alloc_, block_size));
            }
        }
    }

    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (size_ == capacity()) {
            grow();
        }
        T* p = &(*this)[size_];
        traits::construct(alloc_, p, std::forward<Args>(args)...);
        ++size_;
        return *p;
    }
    void push_back(const T& x) { emplace_back(x); }
    void push_back(T&& x) { emplace_back(std::move(x)); }

    /// Effects: destroys every element; keeps the first block.
    void clear() noexcept {
        for (size_type i = 0; i < size_; ++i) {
            traits::destroy(alloc_, &(*this)[i]);
        }
        size_ = 0;
    }

private:
    void grow() {
        if (first_cap_ < block_size) {
            resize_first(std::min(block_size, std::max<size_type>(16, first_cap_ * 2)));
        } else {
            blocks_.reserve(blocks_.size() + 1);
            blocks_.push_back(traits::allocate(alloc_, block_size));
        }
    }

    // Reallocates the first block with room for `cap` elements and moves
    // its elements there. Requires: cap <= block_size, cap >= size_.
    void resize_first(size_type cap) {
        if (blocks_.empty()) {
            blocks_.reserve(1);
            blocks_.push_back(traits::allocate(alloc_, cap));
            first_cap_ = cap;
            return;
        }
        T* fresh = traits::allocate(alloc_, cap);
        size_type built = 0;
        try {
            for (; built < size_; ++built) {
                traits::construct(alloc_, fresh + built, std::move_if_noexcept(blocks_[0][built]));
            }
        } catch (...) {
            for (size_type i = 0; i < built; ++i) {
                traits::destroy(alloc_, fresh + i);
            }
            traits::deallocate(alloc_, fresh, cap);
            throw;
        }
        for (size_type i = 0; i < size_; ++i) {
            traits::destroy(alloc_, blocks_[0] + i);
        }
        traits::deallocate(alloc_, blocks_[0], first_cap_);
        blocks_[0] = fresh;
        first_cap_ = cap;
    }

    void release() noexcept {
        clear();
        for (size_type b = 0; b < blocks_.size(); ++b) {
            traits::deallocate(alloc_, blocks_[b], b == 0 ? first_cap_ : block_size);
        }
        blocks_.clear();
        first_cap_ = 0;
    }

    [[no_unique_address]] Alloc alloc_{};
    std::vector<T*, block_ptr_alloc> blocks_;
    size_type size_ = 0;
    size_type first_cap_ = 0; ///< capacity of blocks_[0]; block_size once there are more
};

} // namespace detail
CRDT_END_NAMESPACE
