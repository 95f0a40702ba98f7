# poolwatch.h's versioned entry points (pw_v1_*), bound with Fiddle.
#
# The symbols are looked up in the process itself: libpoolwatch.so is
# preloaded. When they are absent `available` is false and nothing else
# here may be called. The calls keep the GVL: they never block, and giving
# it up and taking it back would cost more than the call.
require 'fiddle'

module Poolwatch
  module API
    @available = false

    class << self
      attr_reader :available

      # Declares a pool of KIND; returns its handle.
      def declare(kind, name, size, max_size)
        @declare.call(kind, name.to_s.byteslice(0, 63), size.to_i, max_size.to_i)
      end

      def checkout_waited(pool, conn, seconds)
        @checkout_waited.call(pool, conn || 0, seconds.to_f)
      end

      def checkin(pool, conn, in_transaction)
        @checkin.call(pool, conn, in_transaction ? 1 : 0)
      end

      def conn_opened(pool, conn)
        @conn_opened.call(pool, conn, 1)
      end

      def conn_closed(pool, conn)
        @conn_closed.call(pool, conn)
      end

      def pool_close(pool)
        @pool_close.call(pool)
      end

      # What is open now is leaked, even if a finalizer closes it later.
      def census
        @census.call
      rescue StandardError
        0
      end

      private

      def bind(name, arguments, result)
        Fiddle::Function.new(Fiddle::Handle::DEFAULT["pw_v1_#{name}"], arguments, result, need_gvl: true)
      end
    end

    begin
      pointer, int, void = Fiddle::TYPE_VOIDP, Fiddle::TYPE_INT, Fiddle::TYPE_VOID
      @declare = bind('pool_declare_kind', [pointer, pointer, int, int], pointer)
      @checkout_waited = bind('checkout_waited', [pointer, pointer, Fiddle::TYPE_DOUBLE], void)
      @checkin = bind('checkin', [pointer, pointer, int], void)
      @conn_opened = bind('conn_opened', [pointer, pointer, int], void)
      @conn_closed = bind('conn_closed', [pointer, pointer], void)
      @pool_close = bind('pool_close', [pointer], void)
      @census = bind('census', [], Fiddle::TYPE_LONG)
      # Stacks start at the program's own calls, not in this support (the
      # directory that holds poolwatch.rb and poolwatch/), nor in Fiddle.
      # Ruby names files by their real path.
      bind('source_hide', [pointer], void).call(File.realpath(File.expand_path('..', __dir__)) + '/')
      @available = true
    rescue Fiddle::DLError, ArgumentError
      @available = false
    end
  end
end
