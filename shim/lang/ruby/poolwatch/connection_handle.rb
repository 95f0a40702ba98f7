# What identifies a ruby-pg connection to poolwatch: its PGconn.
#
# The shim already tracks every PGconn the program opened (as the implicit
# libpq pool's); telling it the PGconn a pool holds moves that connection
# into the pool, so a pool's idle connections are not libpq leaks. ruby-pg
# has no accessor for it: a PG::Connection is a typed data object whose
# data begins with the PGconn pointer (pg 1.4's t_pg_connection). The
# layout is checked by the type's name before it is read; anything else is
# identified by its object id, unique while it lives.
require 'fiddle'

module Poolwatch
  module ConnectionHandle
    WORD = Fiddle::SIZEOF_VOIDP
    # struct RTypedData: flags, klass, type, typed_flag, data.
    TYPE_AT = 2 * WORD
    DATA_AT = 4 * WORD

    def self.of(connection)
      raw = connection.instance_variable_get(:@connection) if connection.instance_variable_defined?(:@connection)
      pgconn_of(raw) || connection.object_id
    end

    def self.pgconn_of(raw)
      return nil unless defined?(::PG::Connection) && raw.is_a?(::PG::Connection)
      object = Fiddle::Pointer.new(Fiddle.dlwrap(raw))
      type = Fiddle::Pointer.new(object[TYPE_AT, WORD].unpack1('J'))
      return nil if type.null?
      name = Fiddle::Pointer.new(type[0, WORD].unpack1('J'))
      return nil if name.null? || name.to_s != 'PG::Connection'
      data = Fiddle::Pointer.new(object[DATA_AT, WORD].unpack1('J'))
      return nil if data.null?
      pgconn = data[0, WORD].unpack1('J')
      pgconn.zero? ? nil : pgconn
    rescue StandardError
      nil
    end
  end
end
