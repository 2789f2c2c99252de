#!/usr/bin/python3
"""Writes ../resources/numpy-dtypes.json: what numpy itself says about every dtype spelling, and the bytes
numpy's tobytes() writes for sample values in both byte orders. RawDtypeTest checks kafkaml against it.

Run with Debian's python3 and python3-numpy (not a pyenv shim):
    /usr/bin/python3 kafkaml-raw/src/test/python/numpy_dtypes.py

The only judgement made here, beyond numpy's own answers, is the two sets below.
"""
import json
import os
import numpy as np

# Spellings whose size depends on the platform that wrote the bytes (C long is 4 bytes on Windows and 8 on
# Linux; intp follows the pointer size; longdouble is 80-bit extended padded to 12 or 16 bytes, or plain
# double). kafkaml refuses them and asks for a sized name.
PLATFORM = {'int', 'int_', 'uint', 'long', 'ulong', 'intp', 'uintp', 'int0', 'uint0', 'longdouble', 'longfloat',
            'float96', 'float128', 'l', 'L', 'p', 'P', 'n', 'N', 'g', 'f12', 'f16'}

# Kafka-ML reads data_type "float" as TensorFlow does: tf.io.decode_raw(out_type=np.float) with np.float the
# Python float, which tf.as_dtype maps to float32 (model_training/tensorflow/utils.py string_to_numpy_type).
# numpy alone would say float64. The wire contract is Kafka-ML's.
KAFKA_ML = {'float': 'float32'}

NUMERIC = ['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
           'float16', 'float32', 'float64']
SAMPLES = {
    'bool': [1, 0, 1],
    'int8': [-1, 127, -128], 'uint8': [255, 0, 7],
    'int16': [-2, 258, -32768], 'uint16': [65535, 1, 4660],
    'int32': [-1, 16909060, -2147483648], 'uint32': [4294967295, 1, 305419896],
    # Integers exact in a double, so that one list serves decoding and encoding checks.
    'int64': [-2, 1099511627776, -4611686018427387904], 'uint64': [1, 4294967296, 9223372036854775808],
    'float16': [1.0, -2.0, 65504.0, 0.099975586], 'float32': [1.0, -2.5, 3.1415927, 1e-30],
    'float64': [1.0, -1.5, 3.141592653589793, 1e300],
}


NON_NUMERIC = ['<U1', '>U3', '|S3', 'S10', 'O', '<M8[ns]', '<m8[ms]', 'V4', '<c8', '>c16']
WRITTEN_NAMES = {np.dtype(s).name for s in NON_NUMERIC} | {type(np.str_('x')).__name__, type(np.bytes_(b'x')).__name__}


def describe(spelling):
    """numpy's answer for one spelling, and what kafkaml must do with it."""
    try:
        dtype = np.dtype(spelling)
    except TypeError:
        # numpy writes dtype.name 'str32', 'bytes24', 'void32' but does not read them back: still not numbers.
        written = spelling in WRITTEN_NAMES
        return {'spelling': spelling, 'numpy': None, 'expect': 'not-numeric' if written else 'unknown'}
    entry = {'spelling': spelling, 'numpy': {'name': dtype.name, 'str': dtype.str, 'char': dtype.char,
                                             'kind': dtype.kind, 'itemsize': dtype.itemsize}}
    bare = spelling.lstrip('<>=|!')
    if bare in PLATFORM:
        entry['expect'] = 'platform'
    elif bare in KAFKA_ML:
        entry['expect'] = 'accept'
        entry['override'] = 'Kafka-ML'
        entry['type'] = KAFKA_ML[bare]
        entry['order'] = '<'
    elif dtype.kind in 'biuf' and dtype.name in NUMERIC:
        entry['expect'] = 'accept'
        entry['type'] = dtype.name
        entry['order'] = '>' if dtype.byteorder == '>' else '<'
    else:
        entry['expect'] = 'not-numeric'
    return entry


def spellings():
    found = {k for k in np.sctypeDict if isinstance(k, str)}
    for name in NUMERIC:
        dtype = np.dtype(name)
        code = dtype.str[1:]
        found |= {dtype.name, dtype.str, dtype.char, type(dtype.type(0)).__name__}
        for order in '<>=|!':
            found |= {order + code, order + dtype.char}
    # What numpy writes for the types RAW cannot carry, with and without byte order.
    found |= WRITTEN_NAMES
    found |= {'<U1', '>U3', '|S3', 'S10', 'a3', '|O', 'O', 'M8', '<M8[ns]', '>M8[s]', 'm8', '<m8[ms]', 'V4', '|V8',
              '<c8', '>c16', 'c', 'str32', 'bytes24', 'void32', 'datetime64[ns]', 'timedelta64[s]',
              type(np.str_('x')).__name__, type(np.bytes_(b'x')).__name__}
    # Not numpy spellings at all.
    found |= {'u', 'float128x', 'uint128', 'f3', 'i3', '<>f4', 'numpy.float32'}
    return sorted(found)


def vectors():
    out = []
    for name in NUMERIC:
        code = np.dtype(name).str[1:]
        for order in ['<', '>', '=', '|'] if code[0] != 'b' else ['|', '<']:
            spelling = order + code
            data = np.array(SAMPLES[name], dtype=spelling)
            out.append({'dtype': spelling, 'values': [float(v) for v in data.astype(np.float64)],
                        'hex': data.tobytes().hex()})
        big = np.array(SAMPLES[name], dtype=np.dtype(name).newbyteorder('>'))
        out.append({'dtype': np.dtype(name).name + ' (big-endian, as numpy names it)', 'dtypeStr': big.dtype.str,
                    'values': [float(v) for v in big.astype(np.float64)], 'hex': big.tobytes().hex()})
    return out


def main():
    result = {
        'generator': 'kafkaml-raw/src/test/python/numpy_dtypes.py',
        'numpy': np.__version__,
        'spellings': [describe(s) for s in spellings()],
        'vectors': vectors(),
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'numpy-dtypes.json')
    with open(target, 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
